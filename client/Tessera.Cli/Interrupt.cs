namespace Tessera.Cli;

/// <summary>Turns the first Ctrl+C into a cancellation (graceful shutdown) instead of killing the process.</summary>
public sealed class Interrupt : IDisposable
{
    readonly CancellationTokenSource _source;
    readonly ConsoleCancelEventHandler _handler;

    Interrupt(CancellationToken outer)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _handler = (_, e) =>
        {
            if (_source.IsCancellationRequested) return; // a second Ctrl+C kills the process as usual
            e.Cancel = true;
            _source.Cancel();
        };
        Console.CancelKeyPress += _handler;
    }

    public CancellationToken Token => _source.Token;

    public static Interrupt OnCtrlC(CancellationToken outer) => new(outer);

    public void Dispose()
    {
        Console.CancelKeyPress -= _handler;
        _source.Dispose();
    }
}

using System.Runtime.InteropServices;

namespace Tessera.Cli;

/// <summary>
/// Turns the first Ctrl+C (SIGINT) or SIGTERM into a cancellation, so commands shut down gracefully instead of
/// being killed mid-write; a second signal falls through to the default and ends the process.
/// </summary>
public sealed class Interrupt : IDisposable
{
    readonly CancellationTokenSource _source;
    readonly PosixSignalRegistration[] _registrations;

    Interrupt(CancellationToken outer)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    void Handle(PosixSignalContext context)
    {
        if (_source.IsCancellationRequested) return;
        context.Cancel = true;
        _source.Cancel();
    }

    public CancellationToken Token => _source.Token;

    public static Interrupt OnCtrlC(CancellationToken outer) => new(outer);

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _source.Dispose();
    }
}

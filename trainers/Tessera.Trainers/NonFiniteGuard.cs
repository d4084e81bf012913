using TorchSharp;
using TorchSharp.Modules;
using Tessera.Trainers.Distributed;
using static TorchSharp.torch;

namespace Tessera.Trainers;

/// <summary>What a training stage does when a step's loss or gradient is NaN or infinite (the <c>on_nonfinite</c> setting).</summary>
public static class NonFinitePolicy
{
    /// <summary>Fail the stage with a diagnostic (the default: a silent skip can hide a broken run).</summary>
    public const string Stop = "stop";
    /// <summary>Drop the step: no optimizer update, buffers as before it; counted as a skipped step.</summary>
    public const string Skip = "skip";

    public static void Validate(string value)
    {
        if (value is not (Stop or Skip))
            throw new ArgumentException($"on_nonfinite '{value}' is not '{Stop}' or '{Skip}'");
    }
}

/// <summary>The decision for one step: apply it or not, with its loss and (pre-clip) global gradient norm.</summary>
public readonly record struct StepVerdict(bool Apply, double Loss, double GradNorm);

/// <summary>
/// The one place every trainer checks a step before its optimizer update. Between backward and the optimizer step it
/// averages the gradients (data-parallel), takes the global gradient norm, clips, and reads the loss and the norm to
/// the host together: one host sync per step. A NaN or infinity in either means the step is skipped (gradients zeroed,
/// the module's buffers put back) or the stage stops with <see cref="TrainingDivergedException"/> naming the first
/// parameter whose gradient is not finite.
///
/// With several ranks the decision must be the same everywhere, or the replicas drift apart. The norm is taken of the
/// averaged gradient, which every rank holds bit for bit; and a rank whose own loss is not finite adds that loss
/// times zero (a NaN) to one of its gradients before averaging, so its peers see the fault too.
/// </summary>
public sealed class NonFiniteGuard : IDisposable
{
    readonly string _stage;
    readonly bool _skip;
    readonly (string Name, Parameter Parameter)[] _parameters;
    // Buffers the forward pass updates outside the optimizer (EMA codebook, BatchNorm statistics) and their copy
    // from before the step, so a skipped step leaves no trace of its non-finite batch.
    readonly (Tensor Live, Tensor Saved)[] _buffers;

    /// <summary>Built after the model is on its device (to(device) replaces tensors).</summary>
    public NonFiniteGuard(string stage, string policy, nn.Module model)
    {
        NonFinitePolicy.Validate(policy);
        _stage = stage;
        _skip = policy == NonFinitePolicy.Skip;
        _parameters = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        _buffers = _skip
            ? model.named_buffers().Select(b => b.buffer).Where(b => b.is_floating_point())
                .Select(b => (b, b.detach().clone())).ToArray()
            : [];
    }

    /// <summary>Steps dropped so far (skip mode).</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>
    /// Fault drills and tests: given the 1-based step and its loss, returns the loss to train on (e.g. times NaN at
    /// step k, as an overflow would). Null in normal runs.
    /// </summary>
    public Func<int, Tensor, Tensor>? LossFault { get; set; }

    /// <summary>Call before the forward pass.</summary>
    public void BeginStep()
    {
        if (_buffers.Length == 0) return;
        using var _ = no_grad();
        foreach (var (live, saved) in _buffers) saved.copy_(live);
    }

    /// <summary>The loss to back-propagate: <paramref name="loss"/>, unless a <see cref="LossFault"/> is set.</summary>
    public Tensor Observe(int step, Tensor loss) => LossFault?.Invoke(step, loss) ?? loss;

    /// <summary>
    /// Call after backward, instead of averaging gradients and clipping: averages over <paramref name="sync"/> (if
    /// any), clips to <paramref name="gradClip"/> (0 = no clip), and decides. Throws in stop mode; in skip mode a
    /// dropped step returns <c>Apply: false</c> with the gradients zeroed, and the caller must not step the optimizer.
    /// </summary>
    public StepVerdict Complete(int step, Tensor loss, GradientSync? sync, double gradClip, Func<string> hint)
    {
        using var _ = no_grad();
        var loss0 = loss.detach();
        if (sync is not null)
        {
            // loss * 0 is 0 for a finite loss and NaN otherwise: the averaged gradient then carries this rank's fault.
            var first = _parameters[0].Parameter;
            first.grad ??= zeros_like(first);
            first.grad.view(-1).narrow(0, 0, 1).add_(loss0.mul(0).to(first.grad.dtype));
            sync.AverageGradients();
        }
        var grads = _parameters.Select(p => p.Parameter.grad).OfType<Tensor>().ToArray();
        var norm = grads.Length == 0 ? zeros(1, device: loss0.device).squeeze() : stack(grads.Select(g => g.norm())).norm();
        var host = stack(new[] { loss0.to(float64), norm.to(float64) }).cpu().data<double>().ToArray(); // the one host sync
        double lossValue = host[0], normValue = host[1];
        if (double.IsFinite(lossValue) && double.IsFinite(normValue))
        {
            if (gradClip > 0)
            {
                // As torch.nn.utils.clip_grad_norm_, from the norm already on the device: no second sync.
                var coef = full_like(norm, gradClip).div(norm + 1e-6).clamp_max(1.0);
                foreach (var g in grads) g.mul_(coef.to(g.dtype));
            }
            return new StepVerdict(true, lossValue, normValue);
        }
        if (!_skip)
            throw new TrainingDivergedException(_stage, step, lossValue, FirstNonFiniteGradient(), hint());
        foreach (var g in grads) g.zero_();
        foreach (var (live, saved) in _buffers) live.copy_(saved);
        SkippedSteps++;
        return new StepVerdict(false, lossValue, normValue);
    }

    /// <summary>Name of the first parameter (in module order) whose gradient holds a NaN or infinity; only on the failure path.</summary>
    string? FirstNonFiniteGradient() =>
        _parameters.FirstOrDefault(p => p.Parameter.grad is { } g && !g.isfinite().all().item<bool>()).Name;

    /// <summary>
    /// Refuses (with <see cref="NonFiniteWeightsException"/>) a model with a NaN or infinity in a parameter or a NaN in a
    /// buffer: checkpoints are only ever written from finite weights. Buffers may hold infinities on purpose
    /// (attention masks of -inf), a NaN never.
    /// </summary>
    public static void RequireFinite(nn.Module model, string what)
    {
        if (FindNonFinite(model) is { } bad) throw new NonFiniteWeightsException(what, bad.Name, bad.Count, bad.Total);
    }

    /// <summary>The first parameter with a NaN or infinity, or buffer with a NaN (see <see cref="RequireFinite"/>), or null.</summary>
    public static (string Name, long Count, long Total)? FindNonFinite(nn.Module model)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var tensors = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter, Parameter: true))
            .Concat(model.named_buffers().Select(b => (b.name, b.buffer, Parameter: false)));
        foreach (var (name, t, isParameter) in tensors)
        {
            if (!t.is_floating_point()) continue;
            long bad = (isParameter ? t.isfinite().logical_not() : t.isnan()).sum().item<long>();
            if (bad > 0) return (name, bad, t.numel());
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var (_, saved) in _buffers) saved.Dispose();
    }
}

/// <summary>A checkpoint was about to be written from weights holding NaN or infinity; nothing was written.</summary>
public sealed class NonFiniteWeightsException(string what, string tensor, long count, long total)
    : InvalidOperationException($"refusing to write {what}: '{tensor}' holds {count} non-finite value(s) of {total}")
{
    public string Tensor { get; } = tensor;
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Class-conditional next-scale generator, VAR-style. The sequence is every scale's tokens concatenated
/// coarse to fine; position 0 (the single token of scale 1) is predicted from <c>class_emb + pos_start</c>;
/// the positions of scale k+1 are predicted from the tokenizer's inputs for that scale (see
/// <see cref="IScaleInputs"/>), projected to the model width. Level and position embeddings are added; a
/// block-causal mask lets a query at level i attend to every key at level &lt;= i; the class drives adaptive
/// layer norm in every block and before the head.
/// </summary>
public sealed class VarGenerator : TokenGenerator
{
    private readonly Embedding class_emb;
    private readonly Parameter pos_start;
    private readonly Linear input_proj;
    private readonly Parameter pos_emb;
    private readonly Embedding lvl_emb;
    private readonly ModuleList<AdaLnBlock> blocks;
    private readonly LayerNorm ln_f;
    private readonly Linear head_ada;
    private readonly Linear head;
    private readonly Tensor levels_L;
    private readonly Tensor mask_LL;

    private readonly IScaleInputs? _scaleInputs;

    /// <summary>
    /// <paramref name="scaleInputs"/> (the multi-scale tokenizer's) turns tokens into the next scale's inputs for
    /// <see cref="TrainingLoss"/> and <see cref="Generate"/>; without it only <see cref="Forward"/> works.
    /// </summary>
    public VarGenerator(GeneratorConfig config, Generator generator, IScaleInputs? scaleInputs = null) : base(nameof(VarGenerator), config)
    {
        if (config.Model != GeneratorConfig.ModelVar) throw new ArgumentException($"config model is '{config.Model}', not '{GeneratorConfig.ModelVar}'");
        if (scaleInputs is not null && (!scaleInputs.Scales.SequenceEqual(config.Scales) || scaleInputs.InputDim != config.InputDim))
            throw new ArgumentException($"the tokenizer's scales {string.Join(",", scaleInputs.Scales)} (code dim {scaleInputs.InputDim}) do not match " +
                $"the generator's {string.Join(",", config.Scales)} (input dim {config.InputDim})");
        int d = config.ModelDim, l = config.SequenceLength;
        class_emb = nn.Embedding(config.Classes + 1, d);
        pos_start = nn.Parameter(zeros(1, 1, d));
        input_proj = nn.Linear(config.InputDim, d);
        pos_emb = nn.Parameter(zeros(1, l, d));
        lvl_emb = nn.Embedding(config.Scales.Length, d);
        blocks = nn.ModuleList(Enumerable.Range(0, config.Layers)
            .Select(_ => new AdaLnBlock(d, config.Heads, config.MlpRatio, config.Dropout)).ToArray());
        ln_f = nn.LayerNorm(d, elementwise_affine: false);
        head_ada = nn.Linear(d, 2 * d);
        head = nn.Linear(d, config.CodebookSize);
        levels_L = tensor(config.Scales.SelectMany((s, k) => Enumerable.Repeat((long)k, s * s)).ToArray());
        mask_LL = BlockCausalMask(config.Scales);
        register_buffer("levels", levels_L, persistent: false);
        register_buffer("mask", mask_LL, persistent: false);
        RegisterComponents();
        // Assigned after RegisterComponents: the inputs belong to the tokenizer and must never join this model's parameters.
        _scaleInputs = scaleInputs;
        ResetParameters(generator);
    }

    private IScaleInputs ScaleInputs => _scaleInputs
        ?? throw new InvalidOperationException("this VAR generator was built without the multi-scale tokenizer's scale inputs");

    /// <summary>Cross-entropy over every position of every scale, each scale predicted from the coarser ones (teacher forcing).</summary>
    public override Tensor TrainingLoss(Tensor classes_B, Tensor tokens_BL)
    {
        var inputs_BPC = ScaleInputs.TeacherForcingInputs(tokens_BL).to(tokens_BL.device);
        var logits_BLV = Forward(classes_B, inputs_BPC);
        return nn.functional.cross_entropy(logits_BLV.reshape(-1, Config.CodebookSize), tokens_BL.reshape(-1));
    }

    /// <summary>Same teacher-forced pass as <see cref="TrainingLoss"/>, each target's log-probability kept: (B, L).</summary>
    public override Tensor TokenLogProbs(Tensor classes_B, Tensor tokens_BL)
    {
        var inputs_BPC = ScaleInputs.TeacherForcingInputs(tokens_BL).to(tokens_BL.device);
        return GatherLogProbs(Forward(classes_B, inputs_BPC), tokens_BL);
    }

    /// <summary>Shares this model's scale inputs: they belong to the tokenizer, not to either model.</summary>
    protected override TokenGenerator CreateSibling(GeneratorConfig config, Generator generator) => new VarGenerator(config, generator, _scaleInputs);

    /// <summary>One forward pass per scale, see <see cref="VarSampler"/>.</summary>
    public override Tensor Generate(IReadOnlyList<int> classes, SamplingOptions options, Generator generator) =>
        VarSampler.Generate(this, ScaleInputs, classes, options, generator);

    /// <summary>
    /// Additive attention mask (L, L): 0 where key level &lt;= query level, -inf elsewhere. A query sees its whole
    /// own scale (VAR predicts a scale's tokens in parallel) and every coarser scale, nothing finer.
    /// </summary>
    public static Tensor BlockCausalMask(IReadOnlyList<int> scales)
    {
        var levels = scales.SelectMany((s, k) => Enumerable.Repeat((long)k, s * s)).ToArray();
        var lv = tensor(levels);
        var allowed_LL = lv.unsqueeze(0).le(lv.unsqueeze(1)); // [query, key]
        return zeros(levels.Length, levels.Length).masked_fill(allowed_LL.logical_not(), double.NegativeInfinity);
    }

    /// <summary>
    /// classes (B) int64 and scale inputs (B, P, InputDim) for the first P positions after the start token
    /// (P = L-1 in training, fewer while generating) -> logits (B, P+1, V).
    /// </summary>
    public Tensor Forward(Tensor classes_B, Tensor inputs_BPC)
    {
        var condition = Condition(classes_B);
        var start_B1D = condition.Cond_BD.unsqueeze(1) + pos_start;
        var x_BLD = cat(new[] { start_B1D, input_proj.forward(inputs_BPC) }, 1);  // (B, P+1, D)
        long l = x_BLD.shape[1];
        var mask = mask_LL.narrow(0, 0, l).narrow(1, 0, l).to(x_BLD.dtype);
        return Run(x_BLD, condition, 0, mask, null);
    }

    /// <summary>The class embedding and every adaptive norm's scale, shift and gate: what depends on the class alone.</summary>
    public sealed record VarCondition(Tensor Cond_BD, Tensor[][] Blocks, Tensor[] Head);

    /// <summary>classes (B) int64 -> their <see cref="VarCondition"/>; a sampler computes it once and reuses it for every scale.</summary>
    public VarCondition Condition(Tensor classes_B)
    {
        var cond_BD = class_emb.forward(classes_B);
        var silu_BD = nn.functional.silu(cond_BD);
        var head = head_ada.forward(silu_BD).unsqueeze(1).chunk(2, -1); // scale, shift (B, 1, D)
        return new VarCondition(cond_BD, blocks.Select(block => block.Modulation(silu_BD)).ToArray(), [head[0] + 1, head[1]]);
    }

    /// <summary>
    /// One cached pass for the next scale: the start token when <paramref name="cache"/> is empty (then
    /// <paramref name="scaleInputs_BSC"/> is null), else that scale's inputs (B, s*s, InputDim). Returns the scale's
    /// logits (B, s*s, V) and advances the cache; the coarser scales are not run again.
    /// </summary>
    public Tensor ForwardScale(VarCondition condition, Tensor? scaleInputs_BSC, KvCache cache)
    {
        Tensor x_BSD = cache.Length == 0
            ? condition.Cond_BD.unsqueeze(1) + pos_start
            : input_proj.forward(scaleInputs_BSC ?? throw new ArgumentNullException(nameof(scaleInputs_BSC), "scales after the first need their inputs"));
        return Run(x_BSD, condition, cache.Length, null, cache);
    }

    /// <summary>A cache holding every scale of this model, for <paramref name="batch"/> rows.</summary>
    public KvCache NewCache(long batch) =>
        new(Config.Layers, batch, Config.Heads, Config.SequenceLength, Config.ModelDim / Config.Heads, pos_emb.device, pos_emb.dtype);

    /// <summary>Positions [offset, offset+T) of the sequence, embedded inputs x (B, T, D) -> logits (B, T, V).</summary>
    private Tensor Run(Tensor x_BTD, VarCondition condition, int offset, Tensor? mask, KvCache? cache)
    {
        long t = x_BTD.shape[1];
        x_BTD = x_BTD + pos_emb.narrow(1, offset, t) + lvl_emb.forward(levels_L.narrow(0, offset, t)).unsqueeze(0);
        for (int i = 0; i < blocks.Count; i++) x_BTD = blocks[i].Forward(x_BTD, condition.Blocks[i], mask, cache, i);
        cache?.Advance((int)t);
        return head.forward(addcmul(condition.Head[1], ln_f.forward(x_BTD), condition.Head[0], AdaLnBlock.One)); // (B, T, V)
    }

    /// <summary>N(0, 0.02) weights, zero biases; adaptive-norm projections start at zero weight with gates 1, so every block starts as a plain pre-norm block.</summary>
    private void ResetParameters(Generator generator)
    {
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal)) { p.zero_(); continue; }
            if (name.Contains("ada", StringComparison.Ordinal)) { p.zero_(); continue; }
            SeededInit.Normal(p, 0.02, generator);
        }
        // Gates at zero would make every block an identity with no gradient into attention or MLP.
        foreach (var (name, p) in named_parameters())
            if (name.EndsWith("ada.bias", StringComparison.Ordinal))
            {
                long d = p.shape[0] / 6;
                p.narrow(0, 0, d).fill_(1);
                p.narrow(0, 3 * d, d).fill_(1);
            }
    }
}

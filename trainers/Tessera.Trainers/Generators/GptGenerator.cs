using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Class-conditional raster next-token GPT, LlamaGen-style. Position 0 holds the class embedding (row
/// <see cref="NullClass"/> is the unconditional "null" class); positions 1..N-1 hold tokens z_0..z_{N-2};
/// the output at position t predicts z_t. Learned absolute positions. Knows nothing of training.
/// </summary>
public sealed class GptGenerator : TokenGenerator
{
    private readonly Embedding class_emb;
    private readonly Embedding tok_emb;
    private readonly Parameter pos_emb;
    private readonly Dropout drop;
    private readonly ModuleList<GptBlock> blocks;
    private readonly LayerNorm ln_f;
    private readonly Linear head;

    public GptGenerator(GeneratorConfig config, Generator generator) : base(nameof(GptGenerator), config)
    {
        if (config.Model != GeneratorConfig.ModelGpt) throw new ArgumentException($"config model is '{config.Model}', not '{GeneratorConfig.ModelGpt}'");
        int d = config.ModelDim;
        class_emb = nn.Embedding(config.Classes + 1, d);
        tok_emb = nn.Embedding(config.CodebookSize, d);
        pos_emb = nn.Parameter(zeros(1, config.SequenceLength, d));
        drop = nn.Dropout(config.Dropout);
        blocks = nn.ModuleList(Enumerable.Range(0, config.Layers)
            .Select(_ => new GptBlock(d, config.Heads, config.MlpRatio, config.Dropout)).ToArray());
        ln_f = nn.LayerNorm(d);
        head = nn.Linear(d, config.CodebookSize, hasBias: false);
        RegisterComponents();
        ResetParameters(generator);
    }

    public int SequenceLength => Config.SequenceLength;

    /// <summary>Input [class, z_0 .. z_{N-2}], targets z_0 .. z_{N-1}, cross-entropy averaged over tokens.</summary>
    public override Tensor TrainingLoss(Tensor classes_B, Tensor tokens_BN)
    {
        long n = tokens_BN.shape[1];
        var logits_BNV = Forward(classes_B, tokens_BN.narrow(1, 0, n - 1));
        return nn.functional.cross_entropy(logits_BNV.reshape(-1, Config.CodebookSize), tokens_BN.reshape(-1));
    }

    /// <summary>Same teacher-forced pass as <see cref="TrainingLoss"/>, each target's log-probability kept: (B, N).</summary>
    public override Tensor TokenLogProbs(Tensor classes_B, Tensor tokens_BN)
    {
        long n = tokens_BN.shape[1];
        return GatherLogProbs(Forward(classes_B, tokens_BN.narrow(1, 0, n - 1)), tokens_BN);
    }

    protected override TokenGenerator CreateSibling(GeneratorConfig config, Generator generator) => new GptGenerator(config, generator);

    /// <summary>KV-cached raster sampling, see <see cref="GptSampler"/>.</summary>
    public override Tensor Generate(IReadOnlyList<int> classes, SamplingOptions options, Generator generator) =>
        GptSampler.Generate(this, classes, options, generator);

    /// <summary>
    /// Teacher-forced pass. classes (B) int64, tokens (B, T) int64 with T &lt;= N-1 -> logits (B, T+1, V):
    /// row t predicts token t.
    /// </summary>
    public Tensor Forward(Tensor classes_B, Tensor tokens_BT)
    {
        long t = tokens_BT.shape[1];
        if (t > SequenceLength - 1) throw new ArgumentException($"{t} input tokens; at most {SequenceLength - 1}");
        var x_BTD = cat(new[] { class_emb.forward(classes_B).unsqueeze(1), tok_emb.forward(tokens_BT) }, 1); // (B, T+1, D)
        return Run(x_BTD, null, 0);
    }

    /// <summary>
    /// One cached decoding step: the class token when the cache is empty, else the previous token
    /// <paramref name="previous_B"/>. Returns logits (B, V) for the next token and advances the cache.
    /// </summary>
    public Tensor Step(Tensor classes_B, Tensor? previous_B, KvCache cache)
    {
        int pos = cache.Length;
        if (pos >= SequenceLength) throw new InvalidOperationException("sequence already complete");
        Tensor x_B1D = pos == 0
            ? class_emb.forward(classes_B).unsqueeze(1)
            : tok_emb.forward(previous_B ?? throw new ArgumentNullException(nameof(previous_B))).unsqueeze(1);
        var logits_B1V = Run(x_B1D, cache, pos);
        return logits_B1V.squeeze(1);
    }

    /// <summary>A cache sized for a whole sequence of this model, for <paramref name="batch"/> rows.</summary>
    public KvCache NewCache(long batch)
    {
        var p = pos_emb;
        return new KvCache(Config.Layers, batch, Config.Heads, SequenceLength, Config.ModelDim / Config.Heads, p.device, p.dtype);
    }

    private Tensor Run(Tensor x_BTD, KvCache? cache, int pos)
    {
        long t = x_BTD.size(1);
        x_BTD = x_BTD + pos_emb.narrow(1, pos, t);
        if (Config.Dropout > 0) x_BTD = drop.forward(x_BTD); // skipped at p = 0: two native calls per pass for nothing
        for (int i = 0; i < blocks.Count; i++) x_BTD = blocks[i].Forward(x_BTD, cache, i);
        cache?.Advance((int)t);
        return head.forward(ln_f.forward(x_BTD)); // (B, T, V)
    }

    /// <summary>GPT-2 init: N(0, 0.02) for linear and embedding weights, residual projections scaled by 1/sqrt(2L), zero biases.</summary>
    private void ResetParameters(Generator generator)
    {
        using var _ = no_grad();
        double residualStd = 0.02 / Math.Sqrt(2.0 * Config.Layers);
        foreach (var (name, p) in named_parameters())
        {
            if (name.StartsWith("ln_", StringComparison.Ordinal) || name.Contains(".ln_", StringComparison.Ordinal)) continue; // LayerNorm keeps 1/0
            if (name.EndsWith(".bias", StringComparison.Ordinal)) { p.zero_(); continue; }
            bool residual = name.EndsWith("attn.proj.weight", StringComparison.Ordinal) || name.EndsWith("mlp.proj.weight", StringComparison.Ordinal);
            SeededInit.Normal(p, residual ? residualStd : 0.02, generator);
        }
    }
}

namespace Tessera.Infra.Specs;

/// <summary>
/// The type and allowed range of one stage setting, with its default and a one-line reason. A setting with
/// <see cref="RefersTo"/> names another stage of that kind: an earlier one in the same spec, or
/// "&lt;experiment-id&gt;/&lt;stage&gt;" of another experiment; left empty it means the nearest earlier one.
/// </summary>
public sealed record SettingSchema(string Key, SettingType Type, object Default, string Doc,
    double Min = double.NegativeInfinity, double Max = double.PositiveInfinity, string[]? Choices = null,
    string? RefersTo = null);

public enum SettingType { Integer, Number, Text }

/// <summary>
/// Every stage kind the platform knows, with the settings each accepts: the single source of the spec schema
/// (the README's tables and the trainers' configs follow it; a test checks the tokenizer's defaults agree).
/// </summary>
public static class StageSchemas
{
    /// <summary>Settings every stage kind has; only their defaults differ by kind.</summary>
    static SettingSchema[] Common(int steps, int batchSize, double lr, int logEvery) =>
    [
        new("steps", SettingType.Integer, steps, "optimizer steps in this stage", Min: 1),
        new("batch_size", SettingType.Integer, batchSize, "images per step (per rank)", Min: 1, Max: 65536),
        new("lr", SettingType.Number, lr, "peak learning rate", Min: 0, Max: 10),
        new("warmup_steps", SettingType.Integer, 50, "linear learning-rate warm-up before the cosine decay", Min: 0),
        new("min_lr_fraction", SettingType.Number, 0.05, "the cosine decay ends at this fraction of the peak rate", Min: 0, Max: 1),
        new("weight_decay", SettingType.Number, 0.0, "AdamW weight decay", Min: 0, Max: 1),
        new("log_every", SettingType.Integer, logEvery, "steps between progress reports (rows of metrics.jsonl)", Min: 1),
        new("workers", SettingType.Integer, 1, "data-parallel ranks; more than 1 needs the gRPC ring, not available yet", Min: 1, Max: 1),
    ];

    static readonly SettingSchema[] Tokenizer =
    [
        new("model", SettingType.Text, "vq", "vq: single-scale LlamaGen-style tokenizer", Choices: ["vq"]),
        new("codebook_size", SettingType.Integer, 256, "number of codes (the generator's vocabulary)", Min: 2, Max: 65536),
        new("code_dim", SettingType.Integer, 8, "dimension of each code (LlamaGen uses 8)", Min: 1, Max: 512),
        new("hidden_channels", SettingType.Integer, 32, "conv width at full resolution", Min: 1, Max: 1024),
        new("latent_channels", SettingType.Integer, 64, "conv width at the downsampled resolutions", Min: 1, Max: 2048),
        new("residual_blocks", SettingType.Integer, 1, "residual blocks at the latent, in encoder and decoder", Min: 0, Max: 16),
        new("commitment", SettingType.Number, 0.25, "weight of the commitment loss", Min: 0, Max: 100),
        new("ema_decay", SettingType.Number, 0.8, "EMA decay of the codebook updates", Min: 0, Max: 1),
        new("dead_code_threshold", SettingType.Number, 2.0, "a code whose EMA count falls below this is restarted", Min: 0),
        new("l1_weight", SettingType.Number, 0.0, "weight of an L1 term added to the MSE reconstruction loss", Min: 0, Max: 100),
    ];

    static readonly SettingSchema[] Tokenize =
    [
        new("tokenizer", SettingType.Text, "", "the tokenizer stage whose checkpoint encodes the images", RefersTo: "tokenizer"),
        new("batch_size", SettingType.Integer, 500, "images per encoder forward pass (memory, not results)", Min: 1, Max: 65536),
    ];

    /// <summary>Settings of each stage kind, common ones first.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<SettingSchema>> Kinds =
        new Dictionary<string, IReadOnlyList<SettingSchema>>
        {
            ["tokenizer"] = [.. Common(steps: 1000, batchSize: 64, lr: 2e-3, logEvery: 50), .. Tokenizer],
            ["tokenize"] = Tokenize,
        };
}

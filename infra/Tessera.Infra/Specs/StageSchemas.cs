namespace Tessera.Infra.Specs;

/// <summary>The type and allowed range of one stage setting, with its default and a one-line reason.</summary>
public sealed record SettingSchema(string Key, SettingType Type, object Default, string Doc,
    double Min = double.NegativeInfinity, double Max = double.PositiveInfinity, string[]? Choices = null);

public enum SettingType { Integer, Number, Text }

/// <summary>Every stage kind the platform knows, with the settings each accepts. The single source of the spec schema.</summary>
public static class StageSchemas
{
    static readonly SettingSchema[] Common =
    [
        new("steps", SettingType.Integer, 1500, "optimizer steps in this stage", Min: 1),
        new("batch_size", SettingType.Integer, 128, "images per step (per rank)", Min: 1),
        new("lr", SettingType.Number, 2e-3, "peak learning rate (AdamW)", Min: 0, Max: 10),
        new("log_every", SettingType.Integer, 25, "steps between progress reports and metrics.jsonl rows", Min: 1),
        new("workers", SettingType.Integer, 1, "data-parallel ranks; more than 1 needs the gRPC ring (not yet available)", Min: 1, Max: 1),
    ];

    static readonly SettingSchema[] Tokenizer =
    [
        new("model", SettingType.Text, "vq", "vq: single-scale LlamaGen-style tokenizer", Choices: ["vq"]),
        new("codebook_size", SettingType.Integer, 256, "number of codes", Min: 2, Max: 65536),
        new("code_dim", SettingType.Integer, 8, "dimension of each code (LlamaGen uses 8)", Min: 1, Max: 512),
        new("hidden", SettingType.Integer, 64, "channels of the conv encoder/decoder", Min: 4, Max: 1024),
        new("warmup_steps", SettingType.Integer, 100, "linear learning-rate warm-up before cosine decay", Min: 0),
        new("commitment", SettingType.Number, 0.25, "weight of the commitment loss", Min: 0, Max: 100),
        new("ema_decay", SettingType.Number, 0.8, "EMA decay of the codebook updates", Min: 0, Max: 1),
        new("dead_code_threshold", SettingType.Number, 2.0, "codes whose EMA count falls below this are restarted", Min: 0),
    ];

    /// <summary>Settings of each stage kind, common ones first.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<SettingSchema>> Kinds =
        new Dictionary<string, IReadOnlyList<SettingSchema>>
        {
            ["tokenizer"] = [.. Common, .. Tokenizer],
        };
}

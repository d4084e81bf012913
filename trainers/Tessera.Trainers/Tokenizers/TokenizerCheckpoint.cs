using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>Opens a tokenizer checkpoint of either kind for inference, whatever trainer wrote it.</summary>
public static class TokenizerCheckpoint
{
    /// <summary>
    /// The tokenizer stored in a checkpoint (formats <see cref="VqTokenizerTrainer.CheckpointFormat"/> and
    /// <see cref="VqTokenizerTrainer.CheckpointFormatV1"/>), on <paramref name="device"/>, in eval mode. The result is
    /// a <see cref="TokenizerModel"/> (an nn.Module): dispose it when done. A damaged checkpoint is a
    /// <see cref="CheckpointFormatException"/> naming <paramref name="name"/>.
    /// </summary>
    public static TokenizerModel Load(Stream source, Device device, string? name = null) => VqTokenizerTrainer.LoadModel(source, device, name);
}

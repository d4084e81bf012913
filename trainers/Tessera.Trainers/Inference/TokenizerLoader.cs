using Tessera.Trainers.Tokenizers;
using static TorchSharp.torch;

namespace Tessera.Trainers.Inference;

/// <summary>Loads any tokenizer checkpoint (single- or multi-scale) as an <see cref="IImageTokenizer"/> for inference.</summary>
public static class TokenizerLoader
{
    public static IImageTokenizer Load(Stream checkpoint, Device device)
    {
        TokenizerModel model = TokenizerCheckpoint.Load(checkpoint, device);
        model.eval();
        return model;
    }
}

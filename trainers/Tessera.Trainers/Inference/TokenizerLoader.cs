using Tessera.Trainers.Tokenizers;
using static TorchSharp.torch;

namespace Tessera.Trainers.Inference;

/// <summary>Loads any tokenizer checkpoint as an <see cref="IImageTokenizer"/> for inference.</summary>
public static class TokenizerLoader
{
    public static IImageTokenizer Load(Stream checkpoint, Device device)
    {
        var trainer = VqTokenizerTrainer.LoadCheckpoint(checkpoint, device);
        return new SingleScale(trainer);
    }

    /// <summary>The single-scale VQ tokenizer seen through the generic contract: one 7x7 scale.</summary>
    sealed class SingleScale(VqTokenizerTrainer trainer) : IImageTokenizer, IDisposable
    {
        public string Kind => "vq";
        public IReadOnlyList<int> Scales { get; } = [7];
        public int CodebookSize => trainer.Config.CodebookSize;

        public Tensor Encode(Tensor images_BCHW)
        {
            using var noGrad = no_grad();
            return trainer.Model.Encode(images_BCHW).reshape(images_BCHW.shape[0], -1);   // (B, 49)
        }

        public Tensor Decode(Tensor tokens_BL)
        {
            using var noGrad = no_grad();
            return trainer.Model.Decode(tokens_BL.reshape(tokens_BL.shape[0], 7, 7));     // (B, C, 28, 28)
        }

        public void Dispose() => trainer.Dispose();
    }
}

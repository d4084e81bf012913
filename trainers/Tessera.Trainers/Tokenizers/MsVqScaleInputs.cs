using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// A multi-scale tokenizer seen as the source of a VAR generator's inputs. A plain object rather than the
/// tokenizer module itself, so that a generator holding it never registers the tokenizer's weights as its own.
/// </summary>
public sealed class MsVqScaleInputs(MsVqTokenizer tokenizer) : IScaleInputs
{
    public IReadOnlyList<int> Scales => tokenizer.Scales;
    public int InputDim => tokenizer.Config.CodeDim;
    public Tensor TeacherForcingInputs(Tensor tokens_BL) => tokenizer.TeacherForcingInputs(tokens_BL);
    public Tensor NextScaleInput(Tensor tokensSoFar_BLk) => tokenizer.NextScaleInput(tokensSoFar_BLk);
    public IScaleInputCursor StartGeneration() => tokenizer.StartGeneration();
}

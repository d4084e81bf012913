using System.Reflection;
using Tessera.Infra.Specs;

namespace Tessera.Stages;

/// <summary>
/// Fills a trainer config from a stage's resolved settings, by the one declaration of each setting
/// (<see cref="SettingSchema.Property"/>): no stage copies settings into its config key by key, so a setting the schema
/// declares cannot be forgotten, misspelt or bound to the wrong property (a test binds every kind's settings).
/// </summary>
public static class SettingBinder
{
    /// <summary>
    /// A copy of <paramref name="start"/> (a record: its other values, such as shapes from the data, stay) with every
    /// setting of the stage's kind that fills a config property set from <paramref name="stage"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The schema names a property <typeparamref name="T"/> lacks, or of another type:
    /// the declaration and the config disagree, which is a bug of the platform, never of the spec.</exception>
    public static T Bind<T>(StageSpec stage, T start) where T : class
    {
        if (!StageSchemas.Kinds.TryGetValue(stage.Kind, out var schema))
            throw new InvalidOperationException($"stage kind '{stage.Kind}' has no schema");
        T config = Clone(start);
        foreach (SettingSchema setting in schema)
        {
            if (setting.Property is not { } name || !stage.Settings.ContainsKey(setting.Key)) continue;
            PropertyInfo property = typeof(T).GetProperty(name, BindingFlags.Public | BindingFlags.Instance)
                ?? throw new InvalidOperationException($"stage kind '{stage.Kind}': setting '{setting.Key}' fills {typeof(T).Name}.{name}, which does not exist");
            property.SetValue(config, Value(stage, setting, property.PropertyType));
        }
        return config;
    }

    static object Value(StageSpec stage, SettingSchema setting, Type type) => (setting.Type, type) switch
    {
        (SettingType.Integer, var t) when t == typeof(int) => stage.Int(setting.Key),
        (SettingType.Integer or SettingType.Number, var t) when t == typeof(double) => stage.Double(setting.Key),
        (SettingType.Text, var t) when t == typeof(string) => stage.String(setting.Key),
        _ => throw new InvalidOperationException(
            $"stage kind '{stage.Kind}': setting '{setting.Key}' is {setting.Type.ToString().ToLowerInvariant()} but fills a {type.Name} property"),
    };

    /// <summary>The record's own copy (what `with` calls), so binding never changes the instance it was given.</summary>
    static T Clone<T>(T value) where T : class =>
        (T)(typeof(T).GetMethod("<Clone>$")?.Invoke(value, null)
            ?? throw new InvalidOperationException($"{typeof(T).Name} is not a record; settings bind into a copy of a record"));
}

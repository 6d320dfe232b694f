using System.Text.Json;

namespace AccessWorkflows.Storage;

/// <summary>The JSON the stores write: System.Text.Json web defaults (camelCase), the same shape the API serves; the
/// model's converters (ISO 8601 durations, wire-name enums) are on its types.</summary>
internal static class StoreJson
{
    public static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

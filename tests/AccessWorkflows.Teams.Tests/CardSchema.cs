using System.Text.Json.Nodes;
using NJsonSchema;

namespace AccessWorkflows.Teams.Tests;

/// <summary>
/// Checks cards against the Adaptive Cards 1.5 schema (Schemas/adaptive-card-1.5.json, MIT, see Schemas/NOTICE.md).
/// One documented exception: <c>choices.data</c> (Teams' <c>Data.Query</c> typeahead, SPEC 10) is defined only from the
/// 1.6 schema on, though Teams honours it on 1.5 cards; it is removed from Input.ChoiceSet before validation, and
/// only when it is a Data.Query. Everything else must validate as is.
/// </summary>
public static class CardSchema
{
    private static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromFileAsync(Path.Combine(AppContext.BaseDirectory, "Schemas", "adaptive-card-1.5.json")).GetAwaiter().GetResult());

    public static IReadOnlyList<string> Errors(JsonObject card)
    {
        var copy = card.DeepClone().AsObject();
        StripDataQuery(copy);
        return [.. Schema.Value.Validate(copy.ToJsonString()).Select(e => e.ToString())];
    }

    public static void AssertValid(JsonObject card)
    {
        var errors = Errors(card);
        Assert.True(errors.Count == 0, "Card does not validate against the Adaptive Cards 1.5 schema:\n" + string.Join("\n", errors) + "\n" + card.ToJsonString());
    }

    private static void StripDataQuery(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["type"]?.GetValue<string>() == "Input.ChoiceSet" && o["choices.data"]?["type"]?.GetValue<string>() == "Data.Query")
                {
                    o.Remove("choices.data");
                }

                foreach (var (_, child) in o.ToList())
                {
                    StripDataQuery(child);
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    StripDataQuery(child);
                }

                break;
        }
    }
}

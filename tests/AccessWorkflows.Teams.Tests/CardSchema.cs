using System.Text.Json.Nodes;
using NJsonSchema;

namespace AccessWorkflows.Teams.Tests;

/// <summary>
/// Checks cards against the Adaptive Cards 1.5 schema (Schemas/adaptive-card-1.5.json, MIT, see Schemas/NOTICE.md)
/// extended by exactly one documented Teams addition (SPEC 10): <c>choices.data</c> of type <c>Data.Query</c> on
/// <c>Input.ChoiceSet</c>, the dynamic typeahead Teams honours on 1.5 cards though the schema defines it only from 1.6.
/// The addition is validated like any other member, with the properties Teams documents for it
/// (learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/dynamic-search); nothing else is relaxed.
/// </summary>
public static class CardSchema
{
    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromJsonAsync(ExtendedSchema().ToJsonString()).GetAwaiter().GetResult());

    public static IReadOnlyList<string> Errors(JsonObject card) =>
        [.. Schema.Value.Validate(card.ToJsonString()).Select(e => e.ToString())];

    public static void AssertValid(JsonObject card)
    {
        var errors = Errors(card);
        Assert.True(errors.Count == 0, "Card does not validate against the Adaptive Cards 1.5 schema (with Teams' Data.Query):\n" + string.Join("\n", errors) + "\n" + card.ToJsonString());
    }

    /// <summary>The 1.5 schema as published, plus <c>Data.Query</c> and the one member that refers to it.</summary>
    private static JsonObject ExtendedSchema()
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemas", "adaptive-card-1.5.json")))!.AsObject();
        var definitions = schema["definitions"]!.AsObject();
        definitions["Data.Query"] = new JsonObject
        {
            ["description"] = "Teams: the query a typeahead Input.ChoiceSet sends to the bot (application/search invoke).",
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["type"] = new JsonObject { ["enum"] = new JsonArray("Data.Query") },
                ["dataset"] = new JsonObject { ["type"] = "string" },
                ["value"] = new JsonObject { ["type"] = "string" },
                ["count"] = new JsonObject { ["type"] = "number" },
                ["skip"] = new JsonObject { ["type"] = "number" },
                ["associatedInputs"] = new JsonObject { ["enum"] = new JsonArray("auto", "none") },
            },
            ["required"] = new JsonArray("type", "dataset"),
            ["additionalProperties"] = false,
        };
        definitions["Input.ChoiceSet"]!["properties"]!["choices.data"] = new JsonObject { ["$ref"] = "#/definitions/Data.Query" };
        return schema;
    }
}

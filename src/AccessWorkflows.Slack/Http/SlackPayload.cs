using System.Text.Json;
using System.Text.Json.Nodes;

namespace AccessWorkflows.Slack.Http;

/// <summary>Reading of verified interaction payloads. Every accessor is total: a missing member, or a member of another
/// JSON kind than expected (a string where an object belongs, an array, null), reads as absent and never throws. A
/// verified payload comes from Slack, but its shape still is not trusted.</summary>
internal static class SlackPayload
{
    /// <summary>Payloads are parsed strictly: a duplicated member is refused rather than resolved either way.</summary>
    public static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>The node at <paramref name="path"/>, walking objects only; null when any step is not an object member.</summary>
    public static JsonNode? Node(JsonNode? node, params string[] path)
    {
        var current = node;
        foreach (var p in path)
        {
            current = current is JsonObject o && o.TryGetPropertyValue(p, out var next) ? next : null;
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    /// <summary>The object at <paramref name="path"/>, or null when it is absent or not an object.</summary>
    public static JsonObject? Obj(JsonNode? node, params string[] path) => Node(node, path) as JsonObject;

    public static string? Str(JsonNode? node, params string[] path) =>
        Node(node, path) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The value of one element in <c>state.values</c>: a selected option's value or a text input's value.</summary>
    public static string? StateValue(JsonNode? state, string blockId, string actionId)
    {
        var element = Obj(state, "values", blockId, actionId);
        return Str(element, "selected_option", "value") ?? Str(element, "value");
    }

    /// <summary>The first action of a block_actions payload.</summary>
    public static JsonObject? FirstAction(JsonNode payload) =>
        Node(payload, "actions") is JsonArray { Count: > 0 } actions && actions[0] is JsonObject a ? a : null;

    /// <summary>A JSON object carried as a string (<c>private_metadata</c>); null when it is not one.</summary>
    public static JsonObject? ParseObject(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(json, documentOptions: ParseOptions) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

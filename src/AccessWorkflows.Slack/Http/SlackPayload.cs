using System.Text.Json.Nodes;

namespace AccessWorkflows.Slack.Http;

/// <summary>Reading of verified interaction payloads. Every accessor tolerates a missing or mistyped member: a
/// verified payload comes from Slack, but its shape still is not trusted.</summary>
internal static class SlackPayload
{
    public static string? Str(JsonNode? node, params string[] path)
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

        return current is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    }

    /// <summary>The value of one element in <c>state.values</c>: a selected option's value or a text input's value.</summary>
    public static string? StateValue(JsonNode? state, string blockId, string actionId)
    {
        var element = state?["values"] is JsonObject values && values.TryGetPropertyValue(blockId, out var block) && block is JsonObject b
            && b.TryGetPropertyValue(actionId, out var e) ? e : null;
        return Str(element, "selected_option", "value") ?? Str(element, "value");
    }

    /// <summary>The first action of a block_actions payload.</summary>
    public static JsonObject? FirstAction(JsonNode payload) =>
        payload["actions"] is JsonArray { Count: > 0 } actions && actions[0] is JsonObject a ? a : null;
}

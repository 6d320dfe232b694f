using System.Text.Json.Nodes;

namespace AccessWorkflows.Slack.Tests;

/// <summary>Interaction payloads in Slack's shapes (slash command form fields; block_actions, view_submission,
/// block_suggestion JSON).</summary>
public static class SlackPayloads
{
    public static string SlashCommand(string userId, string triggerId, string text = "") => SlackTestHost.FormBody(
        ("token", "deprecated-verification-token"),
        ("team_id", "T0TEAM"),
        ("team_domain", "example"),
        ("channel_id", "C0GENERAL"),
        ("channel_name", "general"),
        ("user_id", userId),
        ("user_name", "someone"),
        ("command", "/access"),
        ("text", text),
        ("api_app_id", "A0APP"),
        ("response_url", "https://hooks.slack.com/commands/T0TEAM/1/abc"),
        ("trigger_id", triggerId));

    public static JsonObject BlockActions(string userId, string channelId, string messageTs, string actionId, string value, string actionTs, string? selectedDuration = null, string? comment = null)
    {
        var values = new JsonObject();
        if (comment is not null)
        {
            values["decision_comment"] = Text("comment", comment);
        }

        var decide = new JsonObject();
        if (selectedDuration is not null)
        {
            decide["duration"] = new JsonObject
            {
                ["type"] = "static_select",
                ["selected_option"] = new JsonObject { ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = selectedDuration }, ["value"] = selectedDuration },
            };
        }

        values["decide"] = decide;

        return new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = new JsonObject { ["id"] = userId, ["username"] = "someone", ["name"] = "someone", ["team_id"] = "T0TEAM" },
            ["api_app_id"] = "A0APP",
            ["token"] = "deprecated-verification-token",
            ["container"] = new JsonObject { ["type"] = "message", ["message_ts"] = messageTs, ["channel_id"] = channelId, ["is_ephemeral"] = false },
            ["trigger_id"] = "trig-" + actionTs,
            ["team"] = new JsonObject { ["id"] = "T0TEAM", ["domain"] = "example" },
            ["channel"] = new JsonObject { ["id"] = channelId, ["name"] = "approvals" },
            ["message"] = new JsonObject { ["type"] = "message", ["ts"] = messageTs, ["text"] = "..." },
            ["state"] = new JsonObject { ["values"] = values },
            ["response_url"] = "https://hooks.slack.com/actions/T0TEAM/1/xyz",
            ["actions"] = new JsonArray
            {
                new JsonObject
                {
                    ["action_id"] = actionId,
                    ["block_id"] = actionId == "relinquish" ? "relinquish" : "decide",
                    ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = actionId },
                    ["value"] = value,
                    ["type"] = "button",
                    ["action_ts"] = actionTs,
                },
            },
        };
    }

    public static JsonObject ViewSubmission(string userId, string viewId, string callbackId, JsonObject values, string? privateMetadata = null) => new()
    {
        ["type"] = "view_submission",
        ["team"] = new JsonObject { ["id"] = "T0TEAM", ["domain"] = "example" },
        ["user"] = new JsonObject { ["id"] = userId, ["username"] = "someone", ["name"] = "someone", ["team_id"] = "T0TEAM" },
        ["api_app_id"] = "A0APP",
        ["token"] = "deprecated-verification-token",
        ["trigger_id"] = "trig-view",
        ["view"] = new JsonObject
        {
            ["id"] = viewId,
            ["team_id"] = "T0TEAM",
            ["type"] = "modal",
            ["callback_id"] = callbackId,
            ["private_metadata"] = privateMetadata ?? string.Empty,
            ["hash"] = "156772938.1827394",
            ["state"] = new JsonObject { ["values"] = values },
        },
    };

    /// <summary>The state of a filled-in request modal.</summary>
    public static JsonObject RequestValues(string? account = "111122223333", string type = "policy", string? policy = "arn:aws:iam::aws:policy/ReadOnlyAccess", string? group = null, string? resource = null, string? duration = "1h", string? reason = "debugging an incident")
    {
        var values = new JsonObject
        {
            ["account"] = Select("account", account),
            ["access_type"] = Select("access_type", type),
            ["policy"] = Select("policy", policy, "external_select"),
            ["group"] = Select("group", group, "external_select"),
            ["resource"] = Select("resource", resource, "external_select"),
            ["duration"] = Text("duration", duration),
            ["reason"] = Text("reason", reason),
        };
        return values;
    }

    public static JsonObject CommentValues(string? comment) => new() { ["comment"] = Text("comment", comment) };

    public static JsonObject BlockSuggestion(string userId, string actionId, string query, string? accountId) => new()
    {
        ["type"] = "block_suggestion",
        ["user"] = new JsonObject { ["id"] = userId, ["username"] = "someone", ["team_id"] = "T0TEAM" },
        ["container"] = new JsonObject { ["type"] = "view", ["view_id"] = "V0REQ" },
        ["api_app_id"] = "A0APP",
        ["token"] = "deprecated-verification-token",
        ["action_id"] = actionId,
        ["block_id"] = actionId,
        ["value"] = query,
        ["team"] = new JsonObject { ["id"] = "T0TEAM", ["domain"] = "example" },
        ["view"] = new JsonObject
        {
            ["id"] = "V0REQ",
            ["type"] = "modal",
            ["callback_id"] = "access_request",
            ["state"] = new JsonObject { ["values"] = new JsonObject { ["account"] = Select("account", accountId) } },
        },
    };

    private static JsonObject Select(string actionId, string? value, string type = "static_select") => new()
    {
        [actionId] = new JsonObject
        {
            ["type"] = type,
            ["selected_option"] = value is null ? null : new JsonObject { ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = value }, ["value"] = value },
        },
    };

    private static JsonObject Text(string actionId, string? value) => new()
    {
        [actionId] = new JsonObject { ["type"] = "plain_text_input", ["value"] = value },
    };
}

using System.Text.Json.Nodes;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Slack.Blocks;

/// <summary>The modals: the <c>/access</c> request form and the deny comment. Block ids double as the keys of field
/// errors (<c>response_action: errors</c>), so they are constants.</summary>
public static class SlackModals
{
    public const string RequestCallback = "access_request";
    public const string DenyCallback = "deny_comment";

    public const string AccountBlock = "account";
    public const string AccessTypeBlock = "access_type";
    public const string PolicyBlock = "policy";
    public const string GroupBlock = "group";
    public const string ResourceBlock = "resource";
    public const string DurationBlock = "duration";
    public const string ReasonBlock = "reason";
    public const string CommentBlock = "comment";

    public static JsonObject Request(IReadOnlyList<AccountConfig> accounts)
    {
        if (accounts.Count == 0)
        {
            return new JsonObject
            {
                ["type"] = "modal",
                ["callback_id"] = RequestCallback + "_none",
                ["title"] = SlackMessages.Plain("Request access"),
                ["close"] = SlackMessages.Plain("Close"),
                ["blocks"] = new JsonArray { SlackMessages.Section("No rule lets you request access to any account. Ask an admin.") },
            };
        }

        var accountOptions = new JsonArray();
        foreach (var a in accounts.Take(100))
        {
            accountOptions.Add(Option($"{a.Name} ({a.Id})", a.Id));
        }

        return new JsonObject
        {
            ["type"] = "modal",
            ["callback_id"] = RequestCallback,
            ["title"] = SlackMessages.Plain("Request access"),
            ["submit"] = SlackMessages.Plain("Request"),
            ["close"] = SlackMessages.Plain("Cancel"),
            ["blocks"] = new JsonArray
            {
                Input(AccountBlock, "AWS account", new JsonObject
                {
                    ["type"] = "static_select",
                    ["action_id"] = AccountBlock,
                    ["placeholder"] = SlackMessages.Plain("Choose an account"),
                    ["options"] = accountOptions,
                }),
                Input(AccessTypeBlock, "Access type", new JsonObject
                {
                    ["type"] = "static_select",
                    ["action_id"] = AccessTypeBlock,
                    ["options"] = new JsonArray
                    {
                        Option("Attach a policy", "policy"),
                        Option("Join a group", "group"),
                        Option("Policy on one resource", "resource"),
                    },
                    ["initial_option"] = Option("Attach a policy", "policy"),
                }),
                Input(PolicyBlock, "Policy (also the base policy of a resource request)", External(PolicyBlock, "Search policies", 0), optional: true),
                Input(GroupBlock, "Group", External(GroupBlock, "Search groups", 0), optional: true),
                Input(ResourceBlock, "Resource ARN", External(ResourceBlock, "Type the resource ARN", 3), optional: true),
                Input(DurationBlock, "Duration", new JsonObject
                {
                    ["type"] = "plain_text_input",
                    ["action_id"] = DurationBlock,
                    ["initial_value"] = "1h",
                    ["placeholder"] = SlackMessages.Plain("30m, 1h, 8h, 1d or PT2H"),
                    ["max_length"] = 32,
                }),
                Input(ReasonBlock, "Reason", new JsonObject
                {
                    ["type"] = "plain_text_input",
                    ["action_id"] = ReasonBlock,
                    ["multiline"] = true,
                    ["max_length"] = Grammar.MaxReasonLength,
                }, optional: true),
            },
        };
    }

    /// <param name="privateMetadata">Which request and message the denial is for (opaque to the person).</param>
    /// <param name="comment">What the approver already typed in the message's comment input, to start from.</param>
    public static JsonObject Deny(AccessRequestSummary summary, string privateMetadata, string? comment = null)
    {
        var input = new JsonObject
        {
            ["type"] = "plain_text_input",
            ["action_id"] = CommentBlock,
            ["multiline"] = true,
            ["max_length"] = Grammar.MaxReasonLength,
        };
        if (!string.IsNullOrEmpty(comment) && comment.Length <= Grammar.MaxReasonLength)
        {
            input["initial_value"] = comment;
        }

        return DenyModal(summary, privateMetadata, input);
    }

    private static JsonObject DenyModal(AccessRequestSummary summary, string privateMetadata, JsonObject input) => new()
    {
        ["type"] = "modal",
        ["callback_id"] = DenyCallback,
        ["private_metadata"] = privateMetadata,
        ["title"] = SlackMessages.Plain("Deny request"),
        ["submit"] = SlackMessages.Plain("Deny"),
        ["close"] = SlackMessages.Plain("Cancel"),
        ["blocks"] = new JsonArray
        {
            SlackMessages.Section($"Deny request `{Mrkdwn.Escape(summary.RequestId)}`?"),
            Input(CommentBlock, "Comment for the requester", input),
        },
    };

    public static JsonObject Option(string text, string value) => new()
    {
        ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = text.Length <= 75 ? text : text[..74] + "…" },
        ["value"] = value,
    };

    private static JsonObject External(string actionId, string placeholder, int minQueryLength) => new()
    {
        ["type"] = "external_select",
        ["action_id"] = actionId,
        ["placeholder"] = SlackMessages.Plain(placeholder),
        ["min_query_length"] = minQueryLength,
    };

    internal static JsonObject Input(string blockId, string label, JsonObject element, bool optional = false) => new()
    {
        ["type"] = "input",
        ["block_id"] = blockId,
        ["label"] = SlackMessages.Plain(label),
        ["element"] = element,
        ["optional"] = optional,
    };
}

/// <summary>Just enough of a request to title the deny modal.</summary>
public sealed record AccessRequestSummary(string RequestId);

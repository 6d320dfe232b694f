using System.Text.Json.Nodes;

namespace AccessWorkflows.Teams.Tests.Fakes;

/// <summary>Activities shaped as Teams sends them to a bot.</summary>
public static class Activities
{
    public const string BotId = "28:bot-app-id";
    private static int _next;

    public static string NextId() => "f:" + Interlocked.Increment(ref _next).ToString("D6");

    private static JsonObject Base(string type, string serviceUrl, string conversationId, string conversationType, string fromId, string? aad)
    {
        var from = new JsonObject { ["id"] = fromId, ["name"] = "Someone" };
        if (aad is not null)
        {
            from["aadObjectId"] = aad;
        }

        return new JsonObject
        {
            ["type"] = type,
            ["id"] = NextId(),
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"),
            ["serviceUrl"] = serviceUrl,
            ["channelId"] = "msteams",
            ["from"] = from,
            ["conversation"] = new JsonObject { ["id"] = conversationId, ["conversationType"] = conversationType, ["tenantId"] = FakeBotConnector.TenantId },
            ["recipient"] = new JsonObject { ["id"] = BotId, ["name"] = "AccessWorkflows" },
            ["channelData"] = new JsonObject { ["tenant"] = new JsonObject { ["id"] = FakeBotConnector.TenantId } },
        };
    }

    /// <summary>The bot added to a team: Teams sends conversationUpdate in the General channel with the bot in membersAdded.</summary>
    public static JsonObject TeamInstall(string serviceUrl, string teamId)
    {
        var a = Base("conversationUpdate", serviceUrl, teamId, "channel", "29:alice", "aad-alice");
        a["membersAdded"] = new JsonArray(new JsonObject { ["id"] = BotId });
        a["channelData"] = new JsonObject
        {
            ["eventType"] = "teamMemberAdded",
            ["team"] = new JsonObject { ["id"] = teamId, ["name"] = "Platform" },
            ["tenant"] = new JsonObject { ["id"] = FakeBotConnector.TenantId },
        };
        return a;
    }

    /// <summary>The app installed in a user's personal scope.</summary>
    public static JsonObject PersonalInstall(string serviceUrl, string userId, string aad)
    {
        var a = Base("installationUpdate", serviceUrl, "a:personal-" + userId, "personal", userId, aad);
        a["action"] = "add";
        return a;
    }

    public static JsonObject Message(string serviceUrl, string userId, string text, string conversationId, string conversationType = "personal", JsonObject? value = null, string? replyToId = null)
    {
        var a = Base("message", serviceUrl, conversationId, conversationType, userId, null);
        a["text"] = text;
        if (value is not null)
        {
            a["value"] = value;
        }

        if (replyToId is not null)
        {
            a["replyToId"] = replyToId;
        }

        return a;
    }

    /// <summary>An Action.Execute click: Teams merges the inputs into the action's data.</summary>
    public static JsonObject Execute(string serviceUrl, string userId, string verb, JsonObject data, string conversationId, string? replyToId = null, string trigger = "manual", string conversationType = "channel")
    {
        var a = Base("invoke", serviceUrl, conversationId, conversationType, userId, null);
        a["name"] = "adaptiveCard/action";
        a["value"] = new JsonObject
        {
            ["action"] = new JsonObject { ["type"] = "Action.Execute", ["verb"] = verb, ["data"] = data },
            ["trigger"] = trigger,
        };
        if (replyToId is not null)
        {
            a["replyToId"] = replyToId;
        }

        return a;
    }

    public static JsonObject Search(string serviceUrl, string userId, string dataset, string query, JsonObject? associated, string conversationId)
    {
        var a = Base("invoke", serviceUrl, conversationId, "personal", userId, null);
        a["name"] = "application/search";
        a["value"] = new JsonObject
        {
            ["kind"] = "search",
            ["queryText"] = query,
            ["queryOptions"] = new JsonObject { ["skip"] = 0, ["top"] = 15 },
            ["dataset"] = dataset,
            ["data"] = associated,
        };
        return a;
    }
}

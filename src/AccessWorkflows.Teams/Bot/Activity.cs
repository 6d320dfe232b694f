using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AccessWorkflows.Teams.Bot;

/// <summary>The members of a Bot Framework activity this channel reads (Bot Connector REST schema).</summary>
internal sealed class Activity
{
    public string? Type { get; set; }

    public string? Id { get; set; }

    public string? Name { get; set; }

    public string? ServiceUrl { get; set; }

    public string? ChannelId { get; set; }

    public ChannelAccount? From { get; set; }

    public ChannelAccount? Recipient { get; set; }

    public ConversationAccount? Conversation { get; set; }

    public string? Text { get; set; }

    public string? Action { get; set; }

    public string? ReplyToId { get; set; }

    public JsonNode? Value { get; set; }

    public JsonNode? ChannelData { get; set; }

    public List<ChannelAccount>? MembersAdded { get; set; }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        MaxDepth = 32,

        // A member given twice would mean whichever copy a reader picks: refused (400) instead.
        AllowDuplicateProperties = false,
    };

    /// <summary>The conversation id without Teams' <c>;messageid=</c> suffix of a channel thread.</summary>
    public string? BaseConversationId => Conversation?.Id?.Split(';')[0];

    public string? TenantId => Conversation?.TenantId ?? JsonText.String(JsonText.Node(ChannelData, "tenant", "id"));

    public string? TeamsChannelId => JsonText.String(JsonText.Node(ChannelData, "channel", "id"));

    public string? TeamId => JsonText.String(JsonText.Node(ChannelData, "team", "id"));
}

/// <summary>Reads untrusted JSON without throwing on a value of the wrong kind.</summary>
internal static class JsonText
{
    /// <summary>The node at <paramref name="path"/>, walking objects only: null when a step is missing or not an object,
    /// where the <c>JsonNode</c> indexer would throw on an array or a value.</summary>
    public static JsonNode? Node(JsonNode? node, params string[] path)
    {
        var current = node;
        foreach (var p in path)
        {
            current = current is JsonObject o && o.TryGetPropertyValue(p, out var next) ? next : null;
        }

        return current;
    }

    public static string? String(JsonNode? node, int maxLength = 4096) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length <= maxLength ? s : null;
}

internal sealed class ChannelAccount
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    public string? AadObjectId { get; set; }
}

internal sealed class ConversationAccount
{
    public string? Id { get; set; }

    public string? ConversationType { get; set; }

    public string? TenantId { get; set; }

    public bool? IsGroup { get; set; }
}

/// <summary>A Teams member as <c>GET /v3/conversations/{id}/members/{userId}</c> returns it.</summary>
internal sealed class TeamsMember
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    public string? AadObjectId { get; set; }

    public string? Email { get; set; }

    public string? UserPrincipalName { get; set; }

    public string? TenantId { get; set; }
}

/// <summary>
/// Where to reach a conversation proactively, stored in <see cref="Storage.IConversationStore"/> under
/// <c>channel:&lt;id&gt;</c>, <c>user:&lt;aadObjectId&gt;</c> and <c>email:&lt;email&gt;</c>.
/// For a user, <see cref="ConversationId"/> is the 1:1 chat once known, and <see cref="UserId"/> lets one be created.
/// </summary>
internal sealed record ConversationRef(
    string ServiceUrl,
    string? ConversationId,
    string? TenantId,
    string? BotId,
    string? UserId = null,
    string? AadObjectId = null,
    string? Email = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, Activity.Json);

    public static ConversationRef? FromJson(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ConversationRef>(json, Activity.Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

using System.Text.Json.Serialization;

namespace AccessWorkflows.Requests;

[JsonConverter(typeof(JsonStringEnumConverter<DecisionKind>))]
public enum DecisionKind
{
    [JsonStringEnumMemberName("approve")]
    Approve,

    [JsonStringEnumMemberName("deny")]
    Deny,
}

public static class DecisionKinds
{
    /// <summary>Parses the wire word of a decision: <c>approve</c> or <c>deny</c> (any case).</summary>
    public static bool TryParse(string? text, out DecisionKind kind)
    {
        kind = default;
        switch (text?.ToLowerInvariant())
        {
            case "approve":
                kind = DecisionKind.Approve;
                return true;
            case "deny":
                kind = DecisionKind.Deny;
                return true;
            default:
                return false;
        }
    }
}

/// <summary>Where a decision or command came from, recorded with it for audit (SPEC 12).</summary>
public static class Channels
{
    public const string Api = "api";
    public const string Slack = "slack";
    public const string Teams = "teams";
    public const string Webhook = "webhook";
    public const string PagerDuty = "pagerduty";
    public const string Rules = "rules";
    public const string System = "system";
}

/// <summary>
/// A decision as delivered to the workflow. <see cref="Id"/> de-duplicates: a channel that may deliver the same
/// click twice derives it from the click (e.g. Slack's action id and timestamp), so it counts once.
/// </summary>
public sealed record DecisionEvent(
    string Id,
    string Approver,
    DecisionKind Decision,
    [property: JsonConverter(typeof(NullableIsoDurationJsonConverter))] TimeSpan? Duration,
    string? Comment,
    string Channel,
    DateTimeOffset At);

/// <summary>A decision that counted, as stored on the request.</summary>
public sealed record DecisionRecord(
    string Id,
    string Approver,
    DecisionKind Decision,
    [property: JsonConverter(typeof(NullableIsoDurationJsonConverter))] TimeSpan? Duration,
    string? Comment,
    string Channel,
    int Level,
    DateTimeOffset At);

/// <summary>The requester's ask to extend the active grant by <see cref="Duration"/>, delivered to the workflow.
/// <see cref="Id"/> de-duplicates deliveries of the same ask.</summary>
public sealed record ExtendCommand(
    string Id,
    string By,
    [property: JsonConverter(typeof(IsoDurationJsonConverter))] TimeSpan Duration,
    string? Reason,
    string Channel,
    DateTimeOffset At);

/// <summary>A relinquish (requester), revoke (admin) or cancel (requester) delivered to the workflow.</summary>
public sealed record EndCommand(string Id, string By, string Channel, string? Comment, DateTimeOffset At);

public sealed class NullableIsoDurationJsonConverter : JsonConverter<TimeSpan?>
{
    private static readonly IsoDurationJsonConverter Inner = new();

    public override TimeSpan? Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
        => reader.TokenType == System.Text.Json.JsonTokenType.Null ? null : Inner.Read(ref reader, typeof(TimeSpan), options);

    public override void Write(System.Text.Json.Utf8JsonWriter writer, TimeSpan? value, System.Text.Json.JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            Inner.Write(writer, value.Value, options);
        }
    }
}

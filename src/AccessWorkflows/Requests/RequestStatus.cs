using System.Text.Json.Serialization;

namespace AccessWorkflows.Requests;

/// <summary>The life of a request (SPEC 4). Terminal statuses never change again.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RequestStatus>))]
public enum RequestStatus
{
    [JsonStringEnumMemberName("pending")]
    Pending,

    [JsonStringEnumMemberName("approved")]
    Approved,

    [JsonStringEnumMemberName("active")]
    Active,

    [JsonStringEnumMemberName("denied")]
    Denied,

    [JsonStringEnumMemberName("timedOut")]
    TimedOut,

    [JsonStringEnumMemberName("expired")]
    Expired,

    [JsonStringEnumMemberName("relinquished")]
    Relinquished,

    [JsonStringEnumMemberName("revoked")]
    Revoked,

    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>The requester withdrew it while it was pending (workflow version 4); nothing was granted.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled,
}

public static class RequestStatusExtensions
{
    public static bool IsTerminal(this RequestStatus status) => status is not (RequestStatus.Pending or RequestStatus.Approved or RequestStatus.Active);

    /// <summary>The wire name (camelCase), as in JSON and query strings.</summary>
    public static string WireName(this RequestStatus status) => status switch
    {
        RequestStatus.TimedOut => "timedOut",
        _ => status.ToString().ToLowerInvariant(),
    };

    public static bool TryParseWireName(string? text, out RequestStatus status)
    {
        foreach (var candidate in Enum.GetValues<RequestStatus>())
        {
            if (string.Equals(candidate.WireName(), text, StringComparison.OrdinalIgnoreCase))
            {
                status = candidate;
                return true;
            }
        }

        status = default;
        return false;
    }
}

/// <summary>How a request ended, for the end states that follow an active grant.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EndReason>))]
public enum EndReason
{
    [JsonStringEnumMemberName("expired")]
    Expired,

    [JsonStringEnumMemberName("relinquished")]
    Relinquished,

    [JsonStringEnumMemberName("revoked")]
    Revoked,
}

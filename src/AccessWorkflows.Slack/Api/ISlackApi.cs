using System.Text.Json.Nodes;

namespace AccessWorkflows.Slack.Api;

/// <summary>
/// The few Slack Web API methods the product uses. One narrow client behind this interface, so an official SDK can
/// replace it in one place. Every method throws <see cref="SlackApiException"/> on <c>ok: false</c> and waits out
/// <c>429 Retry-After</c> itself.
/// </summary>
public interface ISlackApi
{
    Task OpenViewAsync(string triggerId, JsonObject view, CancellationToken cancellationToken = default);

    /// <returns>The channel id and the ts of the new message (the ref <c>chat.update</c> needs).</returns>
    Task<(string Channel, string Ts)> PostMessageAsync(string channel, string text, JsonArray blocks, CancellationToken cancellationToken = default);

    Task UpdateMessageAsync(string channel, string ts, string text, JsonArray blocks, CancellationToken cancellationToken = default);

    Task PostEphemeralAsync(string channel, string user, string text, CancellationToken cancellationToken = default);

    /// <returns>The id of the DM channel with the user.</returns>
    Task<string> OpenDirectMessageAsync(string userId, CancellationToken cancellationToken = default);

    /// <returns>The profile email of the user; null when the user has none, is deleted, or is a bot.</returns>
    Task<string?> GetUserEmailAsync(string userId, CancellationToken cancellationToken = default);

    /// <returns>The Slack user id for the email; null when no user has it.</returns>
    Task<string?> LookupUserIdByEmailAsync(string email, CancellationToken cancellationToken = default);
}

/// <summary>A Slack Web API call answered <c>ok: false</c> (HTTP 200 with an error code), or not answered at all.</summary>
public sealed class SlackApiException : Exception
{
    // Errors that no retry can fix: configuration or addressing problems. Anything else may pass.
    private static readonly HashSet<string> PermanentErrors = new(StringComparer.Ordinal)
    {
        "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed", "account_inactive",
        "token_revoked", "token_expired", "missing_scope", "no_permission", "invalid_arguments", "invalid_blocks",
        "invalid_blocks_format", "msg_too_long", "no_text", "user_not_found", "users_not_found", "user_not_in_channel",
        "cant_update_message", "message_not_found", "edit_window_closed", "expired_trigger_id", "invalid_trigger_id",
        "exchanged_trigger_id", "view_too_large", "restricted_action", "method_not_supported_for_channel_type",
        "cannot_dm_bot", "user_disabled",
    };

    public SlackApiException(string method, string error)
        : base($"Slack {method} failed: {error}")
    {
        Method = method;
        Error = error;
    }

    public string Method { get; }

    /// <summary>Slack's error code, e.g. <c>channel_not_found</c>, or <c>http_503</c> for a transport failure.</summary>
    public string Error { get; }

    /// <summary>True when retrying the same call cannot succeed.</summary>
    public bool IsPermanent => PermanentErrors.Contains(Error);
}

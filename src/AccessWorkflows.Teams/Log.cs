using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Teams;

/// <summary>Every log line of the Teams channel. Tokens, secrets and card contents are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Teams activity refused: {Reason}")]
    public static partial void ActivityRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Teams activity refused: serviceUrl {ServiceUrl} does not match the token's serviceurl claim")]
    public static partial void ServiceUrlMismatch(ILogger logger, string? serviceUrl);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "Bot Connector {Method} {Path} answered {Status}; retry {Attempt} in {Delay}")]
    public static partial void ConnectorRetry(ILogger logger, string method, string path, int status, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Information, Message = "Bot Connector token acquired by {Flow}, valid until {ExpiresOn}")]
    public static partial void TokenAcquired(ILogger logger, string flow, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Warning, Message = "Bot Connector answered 401; the cached token is dropped and the call retried once")]
    public static partial void ConnectorUnauthorized(ILogger logger);

    [LoggerMessage(EventId = 6020, Level = LogLevel.Information, Message = "Teams conversation reference saved for {Key}")]
    public static partial void ReferenceSaved(ILogger logger, string key);

    [LoggerMessage(EventId = 6021, Level = LogLevel.Warning, Message = "No Teams conversation reference for {Key}: the bot must be installed there first; request {RequestId} not posted there")]
    public static partial void NoReference(ILogger logger, string key, string requestId);

    [LoggerMessage(EventId = 6022, Level = LogLevel.Warning, Message = "Teams member lookup for a user in conversation failed with {Status}")]
    public static partial void MemberLookupFailed(ILogger logger, int status);

    [LoggerMessage(EventId = 6030, Level = LogLevel.Information, Message = "Teams notification {NotificationId} ({Kind}) of request {RequestId} delivered")]
    public static partial void Delivered(ILogger logger, string notificationId, AccessWorkflows.Notifications.NotificationKind kind, string requestId);

    [LoggerMessage(EventId = 6031, Level = LogLevel.Information, Message = "Teams {Verb} by {Email} on request {RequestId}: {Outcome}")]
    public static partial void ActionHandled(ILogger logger, string verb, string email, string requestId, AccessWorkflows.Requests.CommandOutcome outcome);

    [LoggerMessage(EventId = 6032, Level = LogLevel.Warning, Message = "Teams work queue is full; a click was refused")]
    public static partial void QueueFull(ILogger logger);

    [LoggerMessage(EventId = 6033, Level = LogLevel.Warning, Message = "Teams click on request {RequestId} was answered with an outcome the command did not confirm ({Outcome}); cards refreshed")]
    public static partial void ClickAnswerCorrected(ILogger logger, string requestId, AccessWorkflows.Requests.CommandOutcome outcome);
}

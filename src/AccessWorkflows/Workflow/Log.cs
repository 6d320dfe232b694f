using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Workflow;

/// <summary>Workflow log events. Ids are stable: alerts and dashboards key on them.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Request {RequestId} is not approved automatically: {Reason}")]
    public static partial void NotOnCall(ILogger logger, string requestId, string reason);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "Request {RequestId}: the PagerDuty on-call lookup for escalation policy {Policy} failed ({Error}); the level keeps its listed approvers")]
    public static partial void OnCallLookupFailed(ILogger logger, string requestId, string policy, string error);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Critical, Message = "Revoking request {RequestId} keeps failing (round {Round}): {Error}. Access may still be granted; retrying.")]
    public static partial void RevokeFailing(ILogger logger, string requestId, int round, string error);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Delivering notification {NotificationId} ({Kind}) of request {RequestId} through {Channel} failed: {Error}")]
    public static partial void DeliveryFailed(ILogger logger, string notificationId, AccessWorkflows.Notifications.NotificationKind kind, string requestId, string channel, string error);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Request {RequestId}: {Change} applied")]
    public static partial void ChangeApplied(ILogger logger, string requestId, RequestChangeKind change);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Request {RequestId}: granted {Permission} to {UserName} in {AccountId} ({Holders} holder(s))")]
    public static partial void Granted(ILogger logger, string requestId, string permission, string userName, string accountId, int holders);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Request {RequestId}: released {Permission} of {UserName} in {AccountId}; {Holders} other holder(s), removed: {Removed}")]
    public static partial void Released(ILogger logger, string requestId, string permission, string userName, string accountId, int holders, bool removed);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "Request {RequestId}: what the grant was used for could not be collected: {Error}")]
    public static partial void ActivityNotCollected(ILogger logger, string requestId, string error);
}

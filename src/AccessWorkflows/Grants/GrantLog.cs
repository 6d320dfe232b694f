using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Grants;

internal static partial class GrantLog
{
    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Request {RequestId}: {UserName} already held {Permission} in {AccountId}; recorded as standing access, never removed by a grant")]
    public static partial void StandingAccess(ILogger logger, string requestId, string permission, string userName, string accountId);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Reconciled account {AccountId}: {Found} found, {Removed} removed, {Repaired} repaired, {Drift} drift, {Errors} errors")]
    public static partial void Reconciled(ILogger logger, string accountId, int found, int removed, int repaired, int drift, int errors);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Error, Message = "Reconciling {Target} in account {AccountId} failed")]
    public static partial void ReconcileFailed(ILogger logger, string accountId, string target, Exception exception);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Account {AccountId}: {UserName} holds {Permission}, which the rules can grant, and no grant explains it (drift, left in place)")]
    public static partial void Drift(ILogger logger, string accountId, string userName, string permission);
}

namespace AccessWorkflows.Server.Hosting;

/// <summary>What the server tells its operator at start and stop (event ids 3100-3199).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Rules loaded from {RulesPath}: {RuleCount} rules over {AccountCount} accounts, {AdminCount} admins, {AuditorCount} auditors")]
    public static partial void RulesLoaded(ILogger logger, string rulesPath, int ruleCount, int accountCount, int adminCount, int auditorCount);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Data directory {DataDirectory} locked by this server")]
    public static partial void DataDirectoryLocked(ILogger logger, string dataDirectory);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Listening on {Addresses}; the durable engine starts now")]
    public static partial void EngineStarting(ILogger logger, string addresses);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Stopping: not ready any more, the durable engine finishes its running steps")]
    public static partial void Stopping(ILogger logger);
}

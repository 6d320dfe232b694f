using Ours = AccessWorkflows.Durable;
using Theirs = Microsoft.DurableTask;
using TheirsClient = Microsoft.DurableTask.Client;

namespace AccessWorkflows.Functions.Durable;

/// <summary>One-for-one conversions between the shared durable abstractions and Durable Functions' types.</summary>
internal static class DurableConvert
{
    public static Theirs.TaskOptions? ToTheirs(Ours.TaskOptions? options)
    {
        if (options is null)
        {
            return null;
        }

        Theirs.TaskRetryOptions? retry = null;
        if (options.Retry is { } ours)
        {
            retry = ToTheirs(ours.Policy); // TaskRetryOptions converts implicitly from RetryPolicy
        }

        return new Theirs.TaskOptions(retry, options.Tags.Count == 0 ? null : new Dictionary<string, string>(options.Tags));
    }

    public static Theirs.RetryPolicy ToTheirs(Ours.RetryPolicy policy)
    {
        var maxInterval = policy.MaxRetryInterval;
        var timeout = policy.RetryTimeout == Timeout.InfiniteTimeSpan ? (TimeSpan?)null : policy.RetryTimeout;

        // HandleFailure is init-only on theirs (it sets the internal Handle delegate), so it goes in the initializer.
        // The worker hands it the failure as it recorded it (error type by full name, message); the workflow decides
        // on our copy of those details (e.g. IsCausedBy<PermanentProvisioningException>: permanent means no retry).
        return policy.HandleFailure is { } handle
            ? new Theirs.RetryPolicy(policy.MaxNumberOfAttempts, policy.FirstRetryInterval, policy.BackoffCoefficient, maxInterval, timeout)
            {
                HandleFailure = failure => handle(ToOurs(failure)),
            }
            : new Theirs.RetryPolicy(policy.MaxNumberOfAttempts, policy.FirstRetryInterval, policy.BackoffCoefficient, maxInterval, timeout);
    }

    public static Ours.TaskFailureDetails ToOurs(Theirs.TaskFailureDetails details) => new(
        details.ErrorType,
        details.ErrorMessage,
        details.StackTrace,
        details.InnerFailure is null ? null : ToOurs(details.InnerFailure));

    public static Ours.TaskFailedException ToOurs(Theirs.TaskFailedException exception) =>
        new(exception.TaskName, exception.TaskId, ToOurs(exception.FailureDetails));

    /// <summary>
    /// Their start options, told not to replace an instance that is still in flight (the port's contract: a second start
    /// of a live instance throws). Backends that honour the reuse policy refuse it themselves; the Functions host's
    /// Azure Storage backend ignores it and refuses by host.json's <c>overridableExistingInstanceStates</c>
    /// (<c>NonRunningStates</c>), which ends the same way.
    /// </summary>
    public static Theirs.StartOrchestrationOptions? ToTheirs(Ours.StartOrchestrationOptions? options) =>
        options is null
            ? null
            : TheirsClient.StartOrchestrationOptionsExtensions.WithDedupeStatuses(new Theirs.StartOrchestrationOptions(options.InstanceId, options.StartAt), InFlight);

    /// <summary>The states in which an instance id is taken: Durable's Pending, Running and Suspended.</summary>
    public static readonly TheirsClient.OrchestrationRuntimeStatus[] InFlight =
    [
        TheirsClient.OrchestrationRuntimeStatus.Pending,
        TheirsClient.OrchestrationRuntimeStatus.Running,
        TheirsClient.OrchestrationRuntimeStatus.Suspended,
    ];

    public static TheirsClient.OrchestrationQuery ToTheirs(Ours.OrchestrationQuery query) => new()
    {
        Statuses = query.Statuses?.Select(ToTheirs).ToList(),
        CreatedFrom = query.CreatedFrom,
        CreatedTo = query.CreatedTo,
        InstanceIdPrefix = query.InstanceIdPrefix,
        PageSize = query.PageSize,
        FetchInputsAndOutputs = query.FetchInputsAndOutputs,
    };

    public static TheirsClient.OrchestrationRuntimeStatus ToTheirs(Ours.OrchestrationRuntimeStatus status) => status switch
    {
        Ours.OrchestrationRuntimeStatus.Pending => TheirsClient.OrchestrationRuntimeStatus.Pending,
        Ours.OrchestrationRuntimeStatus.Running => TheirsClient.OrchestrationRuntimeStatus.Running,
        Ours.OrchestrationRuntimeStatus.Completed => TheirsClient.OrchestrationRuntimeStatus.Completed,
        Ours.OrchestrationRuntimeStatus.Failed => TheirsClient.OrchestrationRuntimeStatus.Failed,
        Ours.OrchestrationRuntimeStatus.Terminated => TheirsClient.OrchestrationRuntimeStatus.Terminated,
        Ours.OrchestrationRuntimeStatus.Suspended => TheirsClient.OrchestrationRuntimeStatus.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>Their obsolete states (ContinuedAsNew, Canceled) fall to the default arm without being named, so the
    /// build stays free of obsoletion warnings: an instance that continued as new is still running; a canceled one ended.</summary>
    public static Ours.OrchestrationRuntimeStatus ToOurs(TheirsClient.OrchestrationRuntimeStatus status) => status switch
    {
        TheirsClient.OrchestrationRuntimeStatus.Pending => Ours.OrchestrationRuntimeStatus.Pending,
        TheirsClient.OrchestrationRuntimeStatus.Running => Ours.OrchestrationRuntimeStatus.Running,
        TheirsClient.OrchestrationRuntimeStatus.Completed => Ours.OrchestrationRuntimeStatus.Completed,
        TheirsClient.OrchestrationRuntimeStatus.Failed => Ours.OrchestrationRuntimeStatus.Failed,
        TheirsClient.OrchestrationRuntimeStatus.Terminated => Ours.OrchestrationRuntimeStatus.Terminated,
        TheirsClient.OrchestrationRuntimeStatus.Suspended => Ours.OrchestrationRuntimeStatus.Suspended,
        _ when status.ToString() == "ContinuedAsNew" => Ours.OrchestrationRuntimeStatus.Running,
        _ => Ours.OrchestrationRuntimeStatus.Terminated, // Canceled
    };

    public static Ours.OrchestrationMetadata ToOurs(TheirsClient.OrchestrationMetadata metadata) => new(metadata.Name, metadata.InstanceId)
    {
        RuntimeStatus = ToOurs(metadata.RuntimeStatus),
        CreatedAt = metadata.CreatedAt,
        LastUpdatedAt = metadata.LastUpdatedAt,
        SerializedInput = metadata.SerializedInput,
        SerializedOutput = metadata.SerializedOutput,
        SerializedCustomStatus = metadata.SerializedCustomStatus,
        FailureDetails = metadata.FailureDetails is null ? null : ToOurs(metadata.FailureDetails),
    };
}

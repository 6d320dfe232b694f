using AccessWorkflows.Durable;
using AccessWorkflows.Grants;

namespace AccessWorkflows.Workflow;

/// <summary>How hard each activity is retried. Waits between attempts are durable timers.</summary>
public static class RetryPolicies
{
    /// <summary>Store writes: quick retries; a store that stays down fails the step loudly.</summary>
    public static TaskOptions Store { get; } = new(new RetryPolicy(10, TimeSpan.FromMilliseconds(500), 2, TimeSpan.FromSeconds(30)));

    /// <summary>IAM is eventually consistent and throttles; permanent errors (no such user) are not retried.</summary>
    public static TaskOptions Provision { get; } = new(new RetryPolicy(6, TimeSpan.FromSeconds(2), 2, TimeSpan.FromMinutes(1))
    {
        HandleFailure = failure => !failure.IsCausedBy<PermanentProvisioningException>(),
    });

    /// <summary>One round of revocation attempts; the workflow starts another round after a pause, forever. Version 1
    /// instances use exactly this; later ones <see cref="DeprovisionWith"/> their frozen first interval.</summary>
    public static TaskOptions Deprovision { get; } = DeprovisionWith(TimeSpan.FromSeconds(2));

    public static TaskOptions DeprovisionWith(TimeSpan firstRetryInterval) =>
        new(new RetryPolicy(6, firstRetryInterval, 2, TimeSpan.FromMinutes(1)));

    public static TimeSpan DeprovisionRoundPause { get; } = TimeSpan.FromMinutes(5);

    /// <summary>About half an hour of retries (waits add up to ~27 minutes), so a receiver that is down for a while
    /// still gets every event.</summary>
    public static TaskOptions Notify { get; } = new(new RetryPolicy(12, TimeSpan.FromSeconds(1), 2, TimeSpan.FromMinutes(10)));

    public static TaskOptions OnCall { get; } = new(new RetryPolicy(2, TimeSpan.FromSeconds(1)));

    /// <summary>CloudTrail throttles LookupEvents hard (two calls a second per account and region): a few minutes of
    /// durable retries, then the request keeps no activity record rather than waiting forever.</summary>
    public static TaskOptions Activity { get; } = new(new RetryPolicy(6, TimeSpan.FromSeconds(5), 2, TimeSpan.FromMinutes(2))
    {
        HandleFailure = failure => !failure.IsCausedBy<PermanentProvisioningException>(),
    });
}

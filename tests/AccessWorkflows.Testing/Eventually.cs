namespace AccessWorkflows.Testing;

/// <summary>
/// Waits for a condition the system under test reaches asynchronously, checking it again whenever a short
/// interval passes, and fails with <paramref name="because"/> if it does not hold within the timeout. The timeout
/// is a bound on a broken system, not the expected duration: a working one returns as soon as it holds.
/// </summary>
public static class Eventually
{
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> condition, string because, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        T last = await probe();
        while (!condition(last))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {because}. Last value: {last}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
            last = await probe();
        }

        return last;
    }

    public static Task Until(Func<bool> condition, string because, TimeSpan? timeout = null)
        => Until(() => Task.FromResult(condition()), ok => ok, because, timeout);
}

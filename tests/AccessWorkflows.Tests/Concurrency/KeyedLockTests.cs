using AccessWorkflows.Concurrency;

namespace AccessWorkflows.Tests.Concurrency;

public sealed class KeyedLockTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Equal_keys_wait_for_each_other_and_other_keys_do_not()
    {
        var locks = new KeyedLock<string>(StringComparer.Ordinal);
        var first = await locks.AcquireAsync("ps-1", CancellationToken.None);

        var same = locks.AcquireAsync("ps-1", CancellationToken.None);
        var other = await locks.AcquireAsync("ps-2", CancellationToken.None).WaitAsync(Patience);
        Assert.False(same.IsCompleted);

        first.Dispose();
        first.Dispose(); // once only: a second dispose must not let a third holder in beside the second
        using var second = await same.WaitAsync(Patience);
        var third = locks.AcquireAsync("ps-1", CancellationToken.None);
        Assert.False(third.IsCompleted);

        second.Dispose();
        (await third.WaitAsync(Patience)).Dispose();
        other.Dispose();
    }

    [Fact]
    public async Task A_waiter_that_gives_up_leaves_the_lock_usable_for_the_next()
    {
        var locks = new KeyedLock<string>(StringComparer.Ordinal);
        var held = await locks.AcquireAsync("request-1", CancellationToken.None);
        using var giveUp = new CancellationTokenSource();
        var waiting = locks.AcquireAsync("request-1", giveUp.Token);

        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        held.Dispose();

        // Released and dropped: the key can be taken again, and held again after that.
        (await locks.AcquireAsync("request-1", CancellationToken.None).WaitAsync(Patience)).Dispose();
        (await locks.AcquireAsync("request-1", CancellationToken.None).WaitAsync(Patience)).Dispose();
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AccessWorkflows.Integrations.Tests.PagerDuty;

/// <summary>
/// PagerDuty's REST API v2 on loopback, as far as the on-call directory uses it: token auth and the versioned
/// Accept header checked like PagerDuty (401 / 406 with its error JSON), <c>GET /users?query=</c> matching names
/// and emails by substring, <c>GET /oncalls</c> filtered by user_ids[], schedule_ids[],
/// escalation_policy_ids[] and the since/until overlap (escalation levels are NOT filtered: the caller must), users
/// as references unless <c>include[]=users</c> expands them to full users with their email (another include value is
/// 400, as PagerDuty answers), classic offset/limit/more pagination with a server-side page size, and scripted
/// faults (429 with Retry-After, 5xx, hanging).
/// </summary>
public sealed class FakePagerDuty : IAsyncDisposable
{
    public const string Token = "u+TestTokenFakePagerDuty";

    private readonly ConcurrentQueue<Func<HttpContext, Task>> _faults = new();
    private LoopbackServer? _server;

    public List<User> Users { get; } = [];

    public List<OnCall> OnCalls { get; } = [];

    /// <summary>The most entries one page holds, whatever limit the client asks for (PagerDuty caps it too).</summary>
    public int MaxPageSize { get; set; } = 100;

    /// <summary>Every request as "path?query", in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public Uri BaseAddress => _server!.BaseAddress;

    public sealed record User(string Id, string Name, string Email);

    public sealed record OnCall(string UserId, string? ScheduleId, string PolicyId, int Level, DateTimeOffset? Start, DateTimeOffset? End);

    public static async Task<FakePagerDuty> StartAsync()
    {
        var fake = new FakePagerDuty();
        fake._server = await LoopbackServer.StartAsync(app =>
        {
            app.MapGet("/users", fake.UsersAsync);
            app.MapGet("/oncalls", fake.OnCallsAsync);
        });
        return fake;
    }

    /// <summary>The next request answers 429 with the given Retry-After seconds.</summary>
    public void ThrottleNext(int retryAfterSeconds) => _faults.Enqueue(ctx =>
    {
        ctx.Response.StatusCode = 429;
        ctx.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        ctx.Response.Headers["ratelimit-reset"] = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return ctx.Response.WriteAsJsonAsync(new { error = new { message = "Rate Limit Exceeded", code = 2020 } });
    });

    /// <summary>The next <paramref name="count"/> requests answer 500.</summary>
    public void FailNext(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(ctx =>
            {
                ctx.Response.StatusCode = 500;
                return ctx.Response.WriteAsJsonAsync(new { error = new { message = "Internal Server Error", code = 2000 } });
            });
        }
    }

    /// <summary>Every request from now on answers 500.</summary>
    public bool AlwaysFail { get; set; }

    /// <summary>Every request from now on hangs until the client gives up.</summary>
    public bool Hang { get; set; }

    public int Count(string path) => Requests.Count(r => r.StartsWith(path + "?", StringComparison.Ordinal) || r == path);

    private async Task UsersAsync(HttpContext ctx)
    {
        if (await GuardAsync(ctx))
        {
            return;
        }

        var query = ctx.Request.Query["query"].ToString();
        var matches = Users.Where(u => query.Length == 0
            || u.Email.Contains(query, StringComparison.OrdinalIgnoreCase)
            || u.Name.Contains(query, StringComparison.OrdinalIgnoreCase)).ToList();
        var (offset, limit, page, more) = Page(ctx, matches);
        await ctx.Response.WriteAsJsonAsync(new
        {
            users = page.Select(u => new
            {
                id = u.Id,
                type = "user",
                summary = u.Name,
                name = u.Name,
                email = u.Email,
                time_zone = "Europe/Amsterdam",
                role = "user",
                self = $"https://api.pagerduty.com/users/{u.Id}",
            }),
            offset,
            limit,
            more,
            total = (int?)null,
        });
    }

    private async Task OnCallsAsync(HttpContext ctx)
    {
        if (await GuardAsync(ctx))
        {
            return;
        }

        var userIds = ctx.Request.Query["user_ids[]"].Select(v => v!).ToHashSet();
        var scheduleIds = ctx.Request.Query["schedule_ids[]"].Select(v => v!).ToHashSet();
        var policyIds = ctx.Request.Query["escalation_policy_ids[]"].Select(v => v!).ToHashSet();
        var includes = ctx.Request.Query["include[]"].Select(v => v!).ToHashSet();
        if (includes.Except(["users", "escalation_policies", "schedules"]).Any() || ctx.Request.Query.ContainsKey("include"))
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsJsonAsync(new { error = new { message = "Invalid Input Provided", code = 2001, errors = new[] { "Include is invalid." } } });
            return;
        }

        var since = ctx.Request.Query.TryGetValue("since", out var s) ? DateTimeOffset.Parse(s!, CultureInfo.InvariantCulture) : DateTimeOffset.UtcNow;
        var until = ctx.Request.Query.TryGetValue("until", out var u) ? DateTimeOffset.Parse(u!, CultureInfo.InvariantCulture) : DateTimeOffset.UtcNow;
        if (until < since)
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsJsonAsync(new { error = new { message = "Invalid Input Provided", code = 2001, errors = new[] { "Until must be after since." } } });
            return;
        }

        var matches = OnCalls.Where(o => (userIds.Count == 0 || userIds.Contains(o.UserId))
            && (scheduleIds.Count == 0 || (o.ScheduleId is not null && scheduleIds.Contains(o.ScheduleId)))
            && (policyIds.Count == 0 || policyIds.Contains(o.PolicyId))
            && (o.Start is null || o.Start <= until)
            && (o.End is null || o.End >= since)).ToList();
        var (offset, limit, page, more) = Page(ctx, matches);
        await ctx.Response.WriteAsJsonAsync(new
        {
            oncalls = page.Select(o => new
            {
                escalation_policy = new { id = o.PolicyId, type = "escalation_policy_reference", summary = "Policy " + o.PolicyId },
                escalation_level = o.Level,
                schedule = o.ScheduleId is null ? null : new { id = o.ScheduleId, type = "schedule_reference", summary = "Schedule " + o.ScheduleId },
                user = includes.Contains("users") && Users.FirstOrDefault(x => x.Id == o.UserId) is { } full
                    ? (object)new { id = full.Id, type = "user", summary = full.Name, name = full.Name, email = full.Email, time_zone = "Europe/Amsterdam", self = $"https://api.pagerduty.com/users/{full.Id}" }
                    : new { id = o.UserId, type = "user_reference", summary = Users.FirstOrDefault(x => x.Id == o.UserId)?.Name },
                start = o.Start?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                end = o.End?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            }),
            offset,
            limit,
            more,
            total = (int?)null,
        });
    }

    private (int Offset, int Limit, List<T> Page, bool More) Page<T>(HttpContext ctx, List<T> all)
    {
        var offset = int.TryParse(ctx.Request.Query["offset"], out var o) ? o : 0;
        var limit = int.TryParse(ctx.Request.Query["limit"], out var l) ? l : 25;
        limit = Math.Min(limit, MaxPageSize);
        var page = all.Skip(offset).Take(limit).ToList();
        return (offset, limit, page, offset + page.Count < all.Count);
    }

    /// <summary>Auth, Accept, scripted faults. True when the request was answered here.</summary>
    private async Task<bool> GuardAsync(HttpContext ctx)
    {
        Requests.Enqueue(ctx.Request.Path + ctx.Request.QueryString.Value);
        if (Hang)
        {
            var hung = new TaskCompletionSource();
            await using (ctx.RequestAborted.Register(() => hung.TrySetResult()))
            {
                await hung.Task;
            }

            return true;
        }

        if (_faults.TryDequeue(out var fault))
        {
            await fault(ctx);
            return true;
        }

        if (AlwaysFail)
        {
            ctx.Response.StatusCode = 500;
            await ctx.Response.WriteAsJsonAsync(new { error = new { message = "Internal Server Error", code = 2000 } });
            return true;
        }

        if (ctx.Request.Headers.Authorization.ToString() != $"Token token={Token}")
        {
            ctx.Response.StatusCode = 401;
            await ctx.Response.WriteAsJsonAsync(new { error = new { message = "Unauthorized", code = 2006 } });
            return true;
        }

        var accept = ctx.Request.Headers.Accept.ToString().Replace(" ", "", StringComparison.Ordinal);
        if (!accept.Contains("application/vnd.pagerduty+json;version=2", StringComparison.OrdinalIgnoreCase))
        {
            ctx.Response.StatusCode = 406;
            await ctx.Response.WriteAsJsonAsync(new { error = new { message = "Not Acceptable: unsupported API version", code = 2001 } });
            return true;
        }

        return false;
    }

    public ValueTask DisposeAsync() => _server?.DisposeAsync() ?? ValueTask.CompletedTask;
}

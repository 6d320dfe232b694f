using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// The real server, in process, on its own SQLite files. Two factories on the same <see cref="DataDirectory"/> are
/// the same deployment before and after a restart.
/// </summary>
public sealed class ServerFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public ServerFactory(string? dataDirectory = null, IDictionary<string, string?>? settings = null)
    {
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "aw-server-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataDirectory);
        _settings = new Dictionary<string, string?>
        {
            ["AccessWorkflows:RulesPath"] = Path.Combine(AppContext.BaseDirectory, "test-rules.yaml"),
            ["AccessWorkflows:Sqlite:Path"] = Path.Combine(DataDirectory, "accessworkflows.db"),
            ["AccessWorkflows:Durable:Path"] = Path.Combine(DataDirectory, "durable.db"),
            ["AccessWorkflows:Auth:Mode"] = "Development",
            ["AccessWorkflows:Workflow:ReminderLead"] = "00:00:02",

            // Tests poll as one identity far faster than a person clicks; the limit itself is tested with a low one.
            ["AccessWorkflows:RateLimit:PermitLimit"] = "1000000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string DataDirectory { get; }

    /// <summary>The host environment the server starts in.</summary>
    public string EnvironmentName { get; init; } = "Development";

    /// <summary>Replaces services after the server's own composition (an IAM that fails on purpose, say).</summary>
    public Action<IServiceCollection>? TestServices { get; init; }

    /// <summary>Extra logging, such as a provider that records what the server logs.</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }

    /// <summary>A client that calls as <paramref name="email"/> (Development authentication).</summary>
    public HttpClient As(string email)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Dev-User", email);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(EnvironmentName);
        if (TestServices is not null)
        {
            builder.ConfigureTestServices(TestServices);
        }

        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (Logging is { } logging)
        {
            builder.ConfigureLogging(logging);
        }
    }
}

/// <summary>The JSON shapes the tests read.</summary>
public sealed record RequestJson(
    string Id,
    string Requester,
    string AccountId,
    string Status,
    int ApprovalLevel,
    string Duration,
    string? GrantedDuration,
    string RuleName,
    DateTimeOffset? GrantedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? EndedAt,
    string? ApprovedBy,
    string? EndedBy,
    string? StatusDetail,
    List<DecisionJson> Decisions,
    List<ExtensionJson>? Extensions = null);

public sealed record ExtensionJson(string Duration, string Status, string RequestedBy, string? Reason, string Channel, string? DecidedBy, DateTimeOffset? ExpiresAt);

public sealed record DecisionJson(string Approver, string Decision, string? Duration, string? Comment, string Channel, int Level);

public sealed record SandboxUserJson(List<string> AttachedPolicies, List<string> Groups, List<string>? PermissionSets = null);

public static class Api
{
    public const string Account = "111122223333";
    public const string ReadOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess";

    public static object PolicyRequest(string policyArn = ReadOnly, string? duration = null, string? reason = "investigating an incident") => new
    {
        accountId = Account,
        access = new { type = "policy", policyArn },
        duration,
        reason,
    };

    public static async Task<RequestJson> CreateAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/requests", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"expected 202, got {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<RequestJson>(text, JsonSerializerOptions.Web)!;
    }

    /// <summary>Creates a request and waits until its first approval level has been notified: approvers only
    /// decide on what they were sent, and a decision before that is refused.</summary>
    public static async Task<RequestJson> CreatePendingAsync(HttpClient client, object body) =>
        await CreatePendingAsyncFor(client, (await CreateAsync(client, body)).Id);

    /// <summary>Waits until the first approval level of an existing request has been notified.</summary>
    public static Task<RequestJson> CreatePendingAsyncFor(HttpClient client, string id) =>
        Eventually.Until(() => GetAsync(client, id), r => r.ApprovalLevel >= 1, $"request {id} reaches its approvers");

    public static async Task<RequestJson> GetAsync(HttpClient client, string id) =>
        (await client.GetFromJsonAsync<RequestJson>($"/api/requests/{id}"))!;

    public static Task<RequestJson> WaitForStatusAsync(HttpClient client, string id, string status, TimeSpan? timeout = null) =>
        Eventually.Until(() => GetAsync(client, id), r => r.Status == status, $"request {id} is {status}", timeout);

    public static Task<HttpResponseMessage> DecideAsync(HttpClient approver, string id, string decision, string? duration = null, string? comment = null) =>
        approver.PostAsJsonAsync($"/api/requests/{id}/decision", new { decision, duration, comment });

    public static async Task<SandboxUserJson> SandboxUserAsync(HttpClient admin, string userName) =>
        (await admin.GetFromJsonAsync<SandboxUserJson>($"/api/sandbox/accounts/{Account}/users/{userName}"))!;
}

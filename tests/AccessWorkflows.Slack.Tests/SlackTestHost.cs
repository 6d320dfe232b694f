using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Grants;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Slack.Http;
using AccessWorkflows.Slack.Notifications;
using AccessWorkflows.Slack.Tests.Fakes;
using AccessWorkflows.Storage;
using AccessWorkflows.Testing.Fakes;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Slack.Tests;

/// <summary>
/// A minimal host with the real Slack routes and channel (AddSlack / MapSlack), a fake request service, and the
/// fake Slack Web API; requests reach it over loopback, signed like Slack signs them (or not).
/// </summary>
public sealed class SlackTestHost : IAsyncDisposable
{
    public const string SigningSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    public const string RequesterId = "U0ALICE";
    public const string ApproverId = "U0CAROL";
    public const string OutsiderId = "U0MALLORY";
    public const string RequesterEmail = "alice@example.com";
    public const string ApproverEmail = "carol@example.com";

    private LoopbackServer? _server;

    private SlackTestHost(FakeSlackWebApi slack, FakeAccessWorkflow workflow)
    {
        Slack = slack;
        Workflow = workflow;
    }

    public FakeSlackWebApi Slack { get; }

    public FakeAccessWorkflow Workflow { get; }

    public InMemoryMessageRefStore Refs { get; } = new();

    public ShiftedTimeProvider Time { get; } = new();

    public HttpClient Http { get; } = new();

    public Uri BaseAddress => _server!.BaseAddress;

    public SlackNotificationChannel Channel { get; private set; } = null!;

    public static async Task<SlackTestHost> StartAsync(FakeAccessWorkflow? workflow = null, Action<SlackOptionsOverrides>? configure = null)
    {
        var slack = await FakeSlackWebApi.StartAsync();
        slack.AddUser(RequesterId, RequesterEmail);
        slack.AddUser(ApproverId, ApproverEmail);
        slack.AddUser(OutsiderId, "mallory@elsewhere.example");
        slack.AddChannel(FakeAccessWorkflow.ApproverChannel);
        slack.AddChannel("C0GENERAL");
        var host = new SlackTestHost(slack, workflow ?? new FakeAccessWorkflow());
        var overrides = new SlackOptionsOverrides();
        configure?.Invoke(overrides);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AccessWorkflows:Slack:SigningSecret"] = SigningSecret,
            ["AccessWorkflows:Slack:BotToken"] = overrides.BotToken,
            ["AccessWorkflows:Slack:ApiBaseUrl"] = slack.BaseAddress.ToString(),
            ["AccessWorkflows:Slack:MaxBodyBytes"] = overrides.MaxBodyBytes.ToString(CultureInfo.InvariantCulture),
        }).Build();
        host._server = await LoopbackServer.StartAsync(
            app =>
            {
                app.MapSlack();
                host.Channel = app.Services.GetRequiredService<SlackNotificationChannel>();
            },
            services =>
            {
                services.AddSingleton<TimeProvider>(host.Time);
                services.AddSingleton<IAccessRequestCommands>(host.Workflow);
                services.AddSingleton<IRequestStore>(host.Workflow);
                services.AddSingleton<IMessageRefStore>(host.Refs);
                services.AddSingleton(Rules);
                services.AddSlack(config);
            });
        host.Workflow.Attach(host.Channel);
        return host;
    }

    /// <summary>The rules the modal's choices come from: alice (example.com) may ask for read-only things in the
    /// sandbox account only; nobody may ask for anything in production.</summary>
    public static AccessRules Rules { get; } = new()
    {
        Accounts =
        [
            new AccountConfig { Id = "111122223333", Name = "sandbox", Provider = "sandbox" },
            new AccountConfig { Id = "444455556666", Name = "production" },
        ],
        Rules =
        [
            new AccessRule
            {
                Name = "readonly",
                Requesters = ["*@example.com"],
                Accounts = ["111122223333"],
                Policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/*ReadOnly*"],
                Groups = ["Developers"],
                Resources = ["arn:aws:s3:::team-*"],
                Approval = new ApprovalRule(),
            },
        ],
    };

    /// <summary>POSTs a body signed with the right secret at <paramref name="timestamp"/> (default: now).</summary>
    public Task<HttpResponseMessage> PostSignedAsync(string path, string body, DateTimeOffset? timestamp = null, string? secret = null, string? bodySent = null)
    {
        var ts = (timestamp ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = SlackRequestVerifier.Sign(secret ?? SigningSecret, ts, Encoding.UTF8.GetBytes(body));
        return PostRawAsync(path, bodySent ?? body, ts, signature);
    }

    public Task<HttpResponseMessage> PostRawAsync(string path, string body, string? timestamp, string? signature)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, path.TrimStart('/')))
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        if (timestamp is not null)
        {
            request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        }

        if (signature is not null)
        {
            request.Headers.Add("X-Slack-Signature", signature);
        }

        return Http.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostPayloadAsync(string path, JsonObject payload, DateTimeOffset? timestamp = null)
        => PostSignedAsync(path, FormBody(("payload", payload.ToJsonString())), timestamp);

    public static string FormBody(params (string Key, string Value)[] fields) =>
        string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value)));

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await Slack.DisposeAsync();
    }
}

public sealed class SlackOptionsOverrides
{
    public string BotToken { get; set; } = FakeSlackWebApi.BotToken;

    public int MaxBodyBytes { get; set; } = 64 * 1024;
}

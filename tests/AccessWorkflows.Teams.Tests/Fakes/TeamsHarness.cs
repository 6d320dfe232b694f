using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Grants;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using AccessWorkflows.Testing.Fakes;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Teams.Tests.Fakes;

/// <summary>
/// The bot (AddTeams + MapTeams) served on loopback, wired to a fake Bot Framework (auth + connector) and an
/// in-memory workflow. Users: alice (requester, also listed as approver), carol (approver), mallory (nobody).
/// </summary>
public sealed class TeamsHarness : IAsyncDisposable
{
    public const string ApproverChannel = "19:approvers@thread.tacv2";
    public const string TeamId = "19:team-general@thread.tacv2";

    private readonly HttpClient _http = new();
    private IServiceProvider _services = null!;

    private TeamsHarness(FakeBotFrameworkAuth auth, FakeBotConnector connector, LoopbackServer bot, FakeWorkflow workflow, InMemoryConversationStore conversations, InMemoryMessageRefStore refs)
    {
        Auth = auth;
        Connector = connector;
        Bot = bot;
        Workflow = workflow;
        Conversations = conversations;
        Refs = refs;
    }

    public FakeBotFrameworkAuth Auth { get; }

    public FakeBotConnector Connector { get; }

    public LoopbackServer Bot { get; }

    public FakeWorkflow Workflow { get; }

    public InMemoryConversationStore Conversations { get; }

    public InMemoryMessageRefStore Refs { get; }

    /// <summary>The <c>teams</c> notification channel as the host would call it.</summary>
    public INotificationChannel Channel => _services.GetServices<INotificationChannel>().Single(c => c.Name == "teams");

    public static readonly AccessRules Rules = new()
    {
        Accounts = [new AccountConfig { Id = "111122223333", Name = "staging" }, new AccountConfig { Id = "444455556666", Name = "production" }],
        Rules =
        [
            new AccessRule
            {
                Name = "readonly",
                Requesters = ["*@example.com"],
                Accounts = ["111122223333"],
                Policies = ["arn:aws:iam::aws:policy/*ReadOnly*"],
                Groups = ["Developers"],
                Approval = new ApprovalRule(),
            },
        ],
    };

    /// <param name="time">The bot's clock (TimeProvider.System unless given), for tests that step it.</param>
    public static async Task<TeamsHarness> StartAsync(Action<Dictionary<string, string?>>? configure = null, TimeProvider? time = null)
    {
        var auth = await FakeBotFrameworkAuth.StartAsync();
        var connector = await FakeBotConnector.StartAsync();
        var conversations = new InMemoryConversationStore();
        var refs = new InMemoryMessageRefStore();
        FakeWorkflow? workflow = null;
        var settings = new Dictionary<string, string?>
        {
            ["AccessWorkflows:Teams:AppId"] = FakeBotConnector.AppId,
            ["AccessWorkflows:Teams:AppPassword"] = FakeBotConnector.AppPassword,
            ["AccessWorkflows:Teams:TenantId"] = FakeBotConnector.TenantId,
            ["AccessWorkflows:Teams:OpenIdMetadataUrl"] = auth.MetadataUrl,
            ["AccessWorkflows:Teams:LoginBaseUrl"] = connector.LoginBaseUrl,
        };
        configure?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        IServiceProvider? botServices = null;
        var bot = await LoopbackServer.StartAsync(
            app =>
            {
                botServices = app.Services;
                app.MapTeams();
            },
            services =>
            {
                if (time is not null)
                {
                    services.AddSingleton(time);
                }

                services.AddTeams(configuration);
                services.AddSingleton<IConversationStore>(conversations);
                services.AddSingleton<IMessageRefStore>(refs);
                services.AddSingleton(sp => workflow ??= new FakeWorkflow(() => sp.GetServices<INotificationChannel>()));
                services.AddSingleton<IAccessRequestCommands>(sp => sp.GetRequiredService<FakeWorkflow>());
                services.AddSingleton<IRequestStore>(sp => sp.GetRequiredService<FakeWorkflow>());
                services.AddSingleton(Rules);
                services.AddSingleton<IAccessCatalog, FakeCatalog>();
                services.AddSingleton<AccessOptions>();
            });
        // The workflow comes from the bot's container so it notifies the bot's own channel instance.
        return new TeamsHarness(auth, connector, bot, botServices!.GetRequiredService<FakeWorkflow>(), conversations, refs) { _services = botServices! };
    }

    public Uri MessagesUrl => new(Bot.BaseAddress, "api/teams/messages");

    /// <summary>Posts an activity as the channel service would, with a valid token unless one is given.</summary>
    public async Task<HttpResponseMessage> SendAsync(JsonObject activity, string? token = null, bool noToken = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MessagesUrl)
        {
            Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (!noToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? Auth.Token(FakeBotConnector.AppId, Connector.ServiceUrl));
        }

        return await _http.SendAsync(request);
    }

    public async Task<JsonObject> InvokeAsync(JsonObject activity)
    {
        using var response = await SendAsync(activity);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>The bot installed in the approvers' team, and alice and carol known to Teams with a personal chat each.</summary>
    public async Task InstallEverywhereAsync()
    {
        Connector.AddMember("29:alice", "Alice@Example.com", "aad-alice");
        Connector.AddMember("29:carol", "carol@example.com", "aad-carol");
        Connector.AddMember("29:mallory", "mallory@example.com", "aad-mallory");
        Connector.TeamChannels[TeamId] = [TeamId, ApproverChannel];
        Ok(await SendAsync(Activities.TeamInstall(Connector.ServiceUrl, TeamId)));
        Ok(await SendAsync(Activities.PersonalInstall(Connector.ServiceUrl, "29:alice", "aad-alice")));
        Ok(await SendAsync(Activities.PersonalInstall(Connector.ServiceUrl, "29:carol", "aad-carol")));
    }

    public static void Ok(HttpResponseMessage response)
    {
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        response.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Bot.DisposeAsync();
        await Connector.DisposeAsync();
        await Auth.DisposeAsync();
    }

    private sealed class FakeCatalog : IAccessCatalog
    {
        public Task<IReadOnlyList<string>> ListPolicyArnsAsync(AccountConfig account, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<string>>(
            [
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                "arn:aws:iam::aws:policy/AdministratorAccess",
                "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess",
            ]);

        public Task<IReadOnlyList<string>> ListGroupNamesAsync(AccountConfig account, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<string>>(["Developers", "Admins"]);
    }
}

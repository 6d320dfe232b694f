using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AccessWorkflows.Integrations.Tests.Server;

/// <summary>The real server in process, on its own SQLite files, with PagerDuty and the webhook pointed at fakes.</summary>
public sealed class IntegrationServer(IDictionary<string, string?> settings) : WebApplicationFactory<Program>
{
    public const string Account = "111122223333";
    public const string ReadOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess";

    private readonly string _data = Path.Combine(Path.GetTempPath(), "aw-integration-tests", Guid.NewGuid().ToString("N"));

    public HttpClient As(string email)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Dev-User", email);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        Directory.CreateDirectory(_data);
        builder.UseEnvironment("Development");
        builder.UseSetting("AccessWorkflows:RulesPath", Path.Combine(AppContext.BaseDirectory, "Server", "integration-rules.yaml"));
        builder.UseSetting("AccessWorkflows:Sqlite:Path", Path.Combine(_data, "accessworkflows.db"));
        builder.UseSetting("AccessWorkflows:Durable:Path", Path.Combine(_data, "durable.db"));
        builder.UseSetting("AccessWorkflows:Auth:Mode", "Development");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public static async Task<JsonElement> CreateAsync(HttpClient client, string? duration = null)
    {
        var response = await client.PostAsJsonAsync("/api/requests", new
        {
            accountId = Account,
            access = new { type = "policy", policyArn = ReadOnly },
            duration,
            reason = "incident 4711",
        });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"expected 202, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> GetAsync(HttpClient client, string id)
        => JsonDocument.Parse(await client.GetStringAsync($"/api/requests/{id}")).RootElement.Clone();

    public static Task<JsonElement> WaitForAsync(HttpClient client, string id, Func<JsonElement, bool> condition, string because)
        => Eventually.Until(() => GetAsync(client, id), condition, because);

    public static Task<JsonElement> WaitForStatusAsync(HttpClient client, string id, string status)
        => WaitForAsync(client, id, r => r.GetProperty("status").GetString() == status, $"request {id} is {status}");
}

using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccessWorkflows.Aws;
using AccessWorkflows.Http;
using AccessWorkflows.Requests;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// The Azure deployment's files agree with each other, with SPEC 11 and with what the code reads: the Functions
/// project is not built here, so these text-level checks are what keeps host.json, local.settings.sample.json,
/// bicep/ and the HTTP functions from drifting.
/// </summary>
public sealed partial class DeploymentConfigurationTests
{
    /// <summary>SPEC 11's configuration keys, as written there.</summary>
    private static readonly string[] Spec11Keys =
    [
        "AccessWorkflows:RulesPath", "AccessWorkflows:Storage", "AccessWorkflows:Sqlite:Path",
        "AccessWorkflows:Tables:ServiceUri", "AccessWorkflows:Tables:ConnectionString",
        "AccessWorkflows:Auth:Mode", "AccessWorkflows:Auth:Authority", "AccessWorkflows:Auth:Audience",
        "AccessWorkflows:PublicBaseUrl",
        "AccessWorkflows:Slack:SigningSecret", "AccessWorkflows:Slack:BotToken", "AccessWorkflows:Slack:ApiBaseUrl",
        "AccessWorkflows:Teams:AppId", "AccessWorkflows:Teams:AppPassword", "AccessWorkflows:Teams:TenantId",
        "AccessWorkflows:Teams:ManagedIdentityClientId", "AccessWorkflows:Teams:OpenIdMetadataUrl",
        "AccessWorkflows:PagerDuty:ApiToken", "AccessWorkflows:PagerDuty:ApiBaseUrl",
        "AccessWorkflows:Webhook:Url", "AccessWorkflows:Webhook:Secret",
    ];

    /// <summary>Keys of the Functions host and the Azure SDKs rather than of AccessWorkflows, each for a reason.</summary>
    private static readonly string[] PlatformKeys =
    [
        "AzureWebJobsStorage", // the Durable Functions task hub's storage (Azurite locally)
        "FUNCTIONS_WORKER_RUNTIME", // dotnet-isolated (Core Tools needs it locally; Flex sets it from functionAppConfig)
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", // Entra-authenticated telemetry
        "AZURE_CLIENT_ID", // DefaultAzureCredential's choice of user-assigned identity (table store by ServiceUri)
    ];

    /// <summary>Deployment-only keys: the identity-based form of <c>AzureWebJobsStorage</c>, which the sample sets as a
    /// connection string to Azurite instead.</summary>
    private static readonly string[] IdentityConnectionKeys =
        ["AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId"];

    private static readonly string Root = Azurite.RepositoryRoot();

    [Fact]
    public void The_sample_settings_list_every_SPEC_11_key_and_only_keys_something_reads()
    {
        var keys = SampleSettingKeys();
        var read = KeysTheCodeReads();

        Assert.Empty(Spec11Keys.Except(keys.Select(ToConfigurationKey)));
        var unknown = keys.Where(k => !PlatformKeys.Contains(k) && !read.Contains(ToConfigurationKey(k))).ToList();
        Assert.True(unknown.Count == 0, $"keys nothing reads: {string.Join(", ", unknown)}");
        Assert.Equal("dotnet-isolated", SampleSettings().GetProperty("FUNCTIONS_WORKER_RUNTIME").GetString());
        Assert.All(SampleSettings().EnumerateObject(), p => Assert.Equal(JsonValueKind.String, p.Value.ValueKind));
    }

    [Fact]
    public void Every_app_setting_bicep_sets_is_in_the_sample_settings()
    {
        var bicepSettings = BicepAppSettingKeys();
        var sample = SampleSettingKeys();

        Assert.Contains("AccessWorkflows__Tables__ServiceUri", bicepSettings);
        Assert.Empty(bicepSettings.Except(sample).Except(IdentityConnectionKeys));
        Assert.Contains("AzureWebJobsStorage", sample);
    }

    [Fact]
    public void Bicep_keeps_secrets_in_Key_Vault_and_storage_keyless()
    {
        var main = File.ReadAllText(Path.Combine(Root, "bicep", "main.bicep"));
        var storage = File.ReadAllText(Path.Combine(Root, "bicep", "modules", "storage.bicep"));
        var vault = File.ReadAllText(Path.Combine(Root, "bicep", "modules", "keyvault.bicep"));

        foreach (var secret in new[] { "Slack__SigningSecret", "Slack__BotToken", "Teams__AppPassword", "PagerDuty__ApiToken", "Webhook__Secret" })
        {
            Assert.Matches($@"AccessWorkflows__{secret}: secretRef\(", main);
        }

        Assert.Contains("@Microsoft.KeyVault(SecretUri=", main, StringComparison.Ordinal);
        Assert.Contains("allowSharedKeyAccess: false", storage, StringComparison.Ordinal);
        Assert.Contains("enableRbacAuthorization: true", vault, StringComparison.Ordinal);
        Assert.Contains("AzureWebJobsStorage__credential: 'managedidentity'", main, StringComparison.Ordinal);
        Assert.DoesNotContain("listKeys(", main + storage, StringComparison.Ordinal);
        Assert.Contains("'${appUrl}/api/teams/messages'", main, StringComparison.Ordinal);
        foreach (var output in new[] { "appUrl", "identityPrincipalId", "identityClientId", "botMessagingEndpoint" })
        {
            Assert.Matches($@"(?m)^output {output} string", main);
        }
    }

    [Fact]
    public void Every_bicep_parameter_is_documented()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Root, "bicep"), "*.bicep", SearchOption.AllDirectories))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].StartsWith("param ", StringComparison.Ordinal))
                {
                    var above = lines.Take(i).Reverse().TakeWhile(l => l.StartsWith('@')).ToList();
                    Assert.True(above.Any(l => l.StartsWith("@description(", StringComparison.Ordinal)), $"{Path.GetFileName(file)}: {lines[i]} has no @description");
                }
            }
        }
    }

    [Fact]
    public void Host_json_runs_the_durable_hub_on_the_identity_based_AzureWebJobsStorage_connection()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "host.json")));
        var root = host.RootElement;
        var durable = root.GetProperty("extensions").GetProperty("durableTask");

        Assert.Equal("2.0", root.GetProperty("version").GetString());
        Assert.Equal("api", root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.False(string.IsNullOrWhiteSpace(durable.GetProperty("hubName").GetString()));
        Assert.Equal("AzureStorage", durable.GetProperty("storageProvider").GetProperty("type").GetString());
        Assert.Equal("AzureWebJobsStorage", durable.GetProperty("storageProvider").GetProperty("connectionName").GetString());
        Assert.Contains(@"Include=""..\..\host.json""", File.ReadAllText(Path.Combine(Root, "src", "AccessWorkflows.Functions", "AccessWorkflows.Functions.csproj")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_API_route_the_server_maps_is_an_HTTP_function_of_the_Functions_app()
    {
        // Slack maps its routes only when configured: configure it (nothing is called at start-up).
        await using var server = new ServerFactory(settings: new Dictionary<string, string?>
        {
            ["AccessWorkflows:Slack:SigningSecret"] = "route-listing-only",
            ["AccessWorkflows:Slack:BotToken"] = "xoxb-route-listing-only",
            ["AccessWorkflows:Slack:ApiBaseUrl"] = "http://127.0.0.1:9/",
        });
        _ = server.CreateClient();
        var serverRoutes = server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .ToHashSet();

        var source = File.ReadAllText(Path.Combine(Root, "src", "AccessWorkflows.Functions", "Functions", "HttpFunctions.cs"));
        var functionRoutes = HttpTrigger().Matches(source)
            .Select(m => $"{m.Groups["method"].Value.ToUpperInvariant()} /api/{m.Groups["route"].Value}")
            .ToHashSet();

        Assert.Contains("POST /api/slack/commands", serverRoutes);
        Assert.Contains("POST /api/teams/messages", serverRoutes);
        Assert.Empty(serverRoutes.Except(functionRoutes));
        Assert.DoesNotContain("AuthorizationLevel.Function", source, StringComparison.Ordinal);
    }

    private static JsonElement SampleSettings()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "local.settings.sample.json")));
        return document.RootElement.GetProperty("Values").Clone();
    }

    private static HashSet<string> SampleSettingKeys() => [.. SampleSettings().EnumerateObject().Select(p => p.Name)];

    private static string ToConfigurationKey(string settingName) => settingName.Replace("__", ":", StringComparison.Ordinal);

    /// <summary>The keys bound from option classes, plus the ones read by name.</summary>
    private static HashSet<string> KeysTheCodeReads()
    {
        var keys = new HashSet<string>(Spec11Keys, StringComparer.Ordinal)
        {
            "AccessWorkflows:Durable:Path",
            "AccessWorkflows:Tables:TablePrefix",
            "AccessWorkflows:Aws:ActivityDelay", // read by the core (CoreServiceCollectionExtensions) into WorkflowOptions
        };
        foreach (var (section, type) in new[] { (AwsOptions.Section, typeof(AwsOptions)), ("AccessWorkflows:Auth", typeof(AuthOptions)), ("AccessWorkflows:Workflow", typeof(WorkflowOptions)), (AccessWorkflows.Teams.TeamsOptions.SectionName, typeof(AccessWorkflows.Teams.TeamsOptions)) })
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                keys.Add($"{section}:{property.Name}");
            }
        }

        return keys;
    }

    /// <summary>The keys of the object given to the appsettings module in main.bicep.</summary>
    private static HashSet<string> BicepAppSettingKeys()
    {
        var main = File.ReadAllText(Path.Combine(Root, "bicep", "main.bicep"));
        var start = main.IndexOf("    settings: {", StringComparison.Ordinal);
        var end = main.IndexOf("\n    }\n", start, StringComparison.Ordinal);
        Assert.True(start > 0 && end > start, "main.bicep has no settings block for the appsettings module");
        return [.. BicepKey().Matches(main[start..end]).Select(m => m.Groups["key"].Value)];
    }

    [GeneratedRegex(@"HttpTrigger\(AuthorizationLevel\.\w+, ""(?<method>\w+)"", Route = ""(?<route>[^""]+)""\)")]
    private static partial Regex HttpTrigger();

    [GeneratedRegex(@"(?m)^\s{6}(?<key>[A-Za-z_][A-Za-z0-9_]*): ")]
    private static partial Regex BicepKey();
}

using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// The infrastructure compiles: <c>bicep/main.bicep</c> is built and linted with the real Bicep compiler (NuGet
/// package Azure.Bicep.CommandLine.linux-x64, restored by this project), and the compiled ARM template is checked
/// against what the Functions app reads and what it needs to be allowed to do.
/// </summary>
public sealed partial class BicepTemplateTests
{
    private static readonly string Root = Azurite.RepositoryRoot();

    /// <summary>Keys of local.settings.sample.json that a deployment sets differently, each for a reason.</summary>
    private static readonly Dictionary<string, string> LocalOnly = new()
    {
        ["AzureWebJobsStorage"] = "AzureWebJobsStorage__accountName", // identity-based connection, no key
        ["AccessWorkflows__Tables__ConnectionString"] = "AccessWorkflows__Tables__ServiceUri", // keyless, by the app's identity
        ["AccessWorkflows__Sqlite__Path"] = "AccessWorkflows__Storage", // the deployment stores in tables, never SQLite
        ["AccessWorkflows__Tables__TablePrefix"] = "AccessWorkflows__Storage", // the default prefix is the deployment's
        ["AccessWorkflows__Workflow__ReminderLead"] = "AccessWorkflows__Storage", // the default (10 minutes) is the product's
        ["AccessWorkflows__Aws__ActivityDelay"] = "AccessWorkflows__Storage", // the default (CloudTrail's 15 minutes) is the product's
        ["AccessWorkflows__Aws__AssignmentPollInterval"] = "AccessWorkflows__Storage", // Identity Center polling: the product's defaults
        ["AccessWorkflows__Aws__AssignmentTimeout"] = "AccessWorkflows__Storage",
        ["FUNCTIONS_WORKER_RUNTIME"] = "AzureWebJobsStorage__accountName", // Flex Consumption sets it from functionAppConfig
    };

    /// <summary>Built-in role definitions (ids are the same in every tenant) the app holds, with the one resource type each
    /// may be scoped to and why it is the least role that works.</summary>
    private static readonly Dictionary<string, (string Name, string Scope)> Allowed = new()
    {
        // Durable Functions' identity-based AzureWebJobsStorage: leases and containers need Blob Data Owner.
        ["b7e6dc6d-f1e8-4753-8033-0f276bb0955b"] = ("Storage Blob Data Owner", "Microsoft.Storage/storageAccounts"),
        // The task hub's control and work-item queues.
        ["974c5e8b-45b9-4653-ba55-5f855dd0fb88"] = ("Storage Queue Data Contributor", "Microsoft.Storage/storageAccounts"),
        // The task hub's history and instances tables, and AccessWorkflows' own tables.
        ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"] = ("Storage Table Data Contributor", "Microsoft.Storage/storageAccounts"),
        // Key Vault references: read secret values, nothing else.
        ["4633458b-17de-408a-b874-0445c86b69e6"] = ("Key Vault Secrets User", "Microsoft.KeyVault/vaults"),
        // Telemetry with Entra authentication.
        ["3913510d-42f4-4e42-8a64-420c390055eb"] = ("Monitoring Metrics Publisher", "Microsoft.Insights/components"),
    };

    [Fact]
    public async Task The_template_builds_and_lints_without_a_diagnostic_and_the_app_is_given_every_setting_it_reads()
    {
        var build = await BicepAsync("build", Path.Combine(Root, "bicep", "main.bicep"), "--stdout");
        Assert.True(build.ExitCode == 0, build.Error);
        Assert.Equal(string.Empty, build.Error.Trim()); // warnings go to stderr
        var lint = await BicepAsync("lint", Path.Combine(Root, "bicep", "main.bicep"));
        Assert.True(lint.ExitCode == 0 && lint.Error.Trim().Length == 0 && lint.Output.Trim().Length == 0, lint.Output + lint.Error);

        using var template = JsonDocument.Parse(build.Output);
        var appSettings = Deployments(template.RootElement).Single(d => d.GetProperty("name").GetString() == "appsettings");
        var set = appSettings.GetProperty("properties").GetProperty("parameters").GetProperty("settings").GetProperty("value")
            .EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        using var sample = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Root, "local.settings.sample.json")));
        foreach (var key in sample.RootElement.GetProperty("Values").EnumerateObject().Select(p => p.Name))
        {
            var expected = LocalOnly.GetValueOrDefault(key, key);
            Assert.True(set.Contains(expected), $"the deployment does not set {expected} (for {key}, which the app reads)");
        }

        Assert.Equal("tables", appSettings.GetProperty("properties").GetProperty("parameters").GetProperty("settings").GetProperty("value").GetProperty("AccessWorkflows__Storage").GetString());
    }

    [Fact]
    public async Task Every_role_assignment_is_a_data_plane_role_on_the_one_resource_that_needs_it()
    {
        var build = await BicepAsync("build", Path.Combine(Root, "bicep", "main.bicep"), "--stdout");
        Assert.True(build.ExitCode == 0, build.Error);
        using var template = JsonDocument.Parse(build.Output);

        var assignments = new List<(string RoleId, string Scope)>();
        foreach (var nested in Templates(template.RootElement))
        {
            var variables = nested.TryGetProperty("variables", out var v) ? v : default;
            foreach (var resource in Resources(nested).Where(r => r.GetProperty("type").GetString() == "Microsoft.Authorization/roleAssignments"))
            {
                var definition = resource.GetProperty("properties").GetProperty("roleDefinitionId").GetString()!;
                assignments.Add((ResolveRoleId(definition, variables), resource.TryGetProperty("scope", out var scope) ? scope.GetString()! : "(resource group)"));
            }
        }

        Assert.Equal(Allowed.Keys.Order(), assignments.Select(a => a.RoleId).Order());
        Assert.All(assignments, a =>
        {
            var (name, type) = Allowed[a.RoleId];
            Assert.True(a.Scope.StartsWith($"[resourceId('{type}', ", StringComparison.Ordinal), $"{name} must be scoped to one {type}, not {a.Scope}");
        });
    }

    private static string ResolveRoleId(string expression, JsonElement variables)
    {
        var literal = GuidPattern().Match(expression);
        if (literal.Success)
        {
            return literal.Value;
        }

        var reference = VariableReferencePattern().Match(expression);
        Assert.True(reference.Success, $"cannot read the role of {expression}");
        return variables.GetProperty(reference.Groups[1].Value).GetProperty(reference.Groups[2].Value).GetString()!;
    }

    /// <summary>The root template and every module's nested template.</summary>
    private static IEnumerable<JsonElement> Templates(JsonElement template)
    {
        yield return template;
        foreach (var deployment in Resources(template).Where(r => r.GetProperty("type").GetString() == "Microsoft.Resources/deployments"))
        {
            foreach (var nested in Templates(deployment.GetProperty("properties").GetProperty("template")))
            {
                yield return nested;
            }
        }
    }

    private static IEnumerable<JsonElement> Deployments(JsonElement template) =>
        Templates(template).SelectMany(Resources).Where(r => r.GetProperty("type").GetString() == "Microsoft.Resources/deployments");

    /// <summary>Resources as an array, or (language version 2.0, symbolic names) as an object.</summary>
    private static IEnumerable<JsonElement> Resources(JsonElement template) =>
        !template.TryGetProperty("resources", out var resources) ? []
        : resources.ValueKind == JsonValueKind.Array ? resources.EnumerateArray()
        : resources.EnumerateObject().Select(p => p.Value);

    private static async Task<(int ExitCode, string Output, string Error)> BicepAsync(params string[] arguments)
    {
        var bicep = typeof(BicepTemplateTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepPath").Value!;
        Assert.True(File.Exists(bicep), $"the Bicep compiler was not restored to {bicep}");
        if (!OperatingSystem.IsWindows())
        {
            // NuGet does not keep the executable bit of package files.
            File.SetUnixFileMode(bicep, File.GetUnixFileMode(bicep) | UnixFileMode.UserExecute);
        }

        var start = new ProcessStartInfo(bicep) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Bicep would look for newer versions and registry modules online; this machine is offline by design.
        start.Environment["BICEP_TRACING_ENABLED"] = "false";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    [GeneratedRegex(@"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex GuidPattern();

    [GeneratedRegex(@"variables\('(\w+)'\)\.(\w+)")]
    private static partial Regex VariableReferencePattern();
}

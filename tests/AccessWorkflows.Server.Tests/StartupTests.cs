namespace AccessWorkflows.Server.Tests;

/// <summary>The host refuses to start with a broken rules file or an unsafe configuration (SPEC 5, 8).</summary>
public sealed class StartupTests
{
    [Fact]
    public void A_broken_rules_file_stops_the_host_naming_the_line_and_the_field()
    {
        var rules = Path.Combine(Path.GetTempPath(), $"broken-rules-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(rules, """
            admins: [secops@example.com]
            accounts:
              - id: "111122223333"
                name: sandbox
                provider: sandbox
            rules:
              - name: readonly
                requesters: ["*@example.com"]
                accounts: ["111122223333"]
                access: { policies: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] }
                maxDuration: forever
                approval: { auto: true }
            """);
        using var server = new ServerFactory(settings: new Dictionary<string, string?> { ["AccessWorkflows:RulesPath"] = rules });

        var error = Assert.ThrowsAny<Exception>(() => server.CreateClient());
        var message = Flatten(error);
        Assert.Contains("broken-rules", message);
        Assert.Contains(":11:", message);
        Assert.Contains("rules[0].maxDuration", message);
    }

    [Fact]
    public void A_missing_rules_file_stops_the_host()
    {
        using var server = new ServerFactory(settings: new Dictionary<string, string?> { ["AccessWorkflows:RulesPath"] = "/nonexistent/access-rules.yaml" });
        Assert.Contains("access-rules.yaml", Flatten(Assert.ThrowsAny<Exception>(() => server.CreateClient())));
    }

    [Fact]
    public void Development_authentication_is_refused_outside_the_development_environment()
    {
        using var server = new ServerFactory { EnvironmentName = "Production" };
        Assert.Contains("X-Dev-User", Flatten(Assert.ThrowsAny<Exception>(() => server.CreateClient())));
    }

    [Fact]
    public void Jwt_authentication_without_an_authority_is_refused()
    {
        using var server = new ServerFactory(settings: new Dictionary<string, string?> { ["AccessWorkflows:Auth:Mode"] = "Jwt" });
        Assert.Contains("Authority", Flatten(Assert.ThrowsAny<Exception>(() => server.CreateClient())));
    }

    private static string Flatten(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
        }

        return string.Join(" | ", messages);
    }
}

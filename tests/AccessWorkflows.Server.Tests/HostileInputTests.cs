using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace AccessWorkflows.Server.Tests;

/// <summary>SPEC 12: every hostile input gets a clear 4xx as problem+json and changes nothing.</summary>
public sealed class HostileInputTests : IClassFixture<HostileInputTests.Fixture>
{
    private readonly ServerFactory _server;

    public HostileInputTests(Fixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task No_identity_is_401()
    {
        var anonymous = _server.CreateClient();
        var response = await anonymous.PostAsJsonAsync("/api/requests", Api.PolicyRequest());
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/requests")).StatusCode);

        var forged = _server.CreateClient();
        forged.DefaultRequestHeaders.Add("X-Dev-User", "not an email");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/requests")).StatusCode);
    }

    [Theory]
    [InlineData("{\"accountId\":\"12345\",\"access\":{\"type\":\"policy\",\"policyArn\":\"arn:aws:iam::aws:policy/ReadOnlyAccess\"},\"reason\":\"x\"}", "accountId")]
    [InlineData("{\"accountId\":\"111122223333\",\"access\":{\"type\":\"policy\",\"policyArn\":\"arn:aws:iam::aws:policy/Read\\\"Only\"},\"reason\":\"x\"}", "access.policyArn")]
    [InlineData("{\"accountId\":\"111122223333\",\"access\":{\"type\":\"group\",\"groupName\":\"Dev elopers\"},\"reason\":\"x\"}", "access.groupName")]
    [InlineData("{\"accountId\":\"111122223333\",\"access\":{\"type\":\"resource\",\"resourceArn\":\"arn:aws:s3:::team-*\",\"policyArn\":\"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\"},\"reason\":\"x\"}", "access.resourceArn")]
    [InlineData("{\"accountId\":\"111122223333\",\"access\":{\"type\":\"policy\",\"policyArn\":\"arn:aws:iam::aws:policy/ReadOnlyAccess\"},\"duration\":\"forever\",\"reason\":\"x\"}", "duration")]
    [InlineData("{\"accountId\":\"111122223333\",\"access\":{\"type\":\"policy\",\"policyArn\":\"arn:aws:iam::aws:policy/ReadOnlyAccess\"},\"duration\":\"PT2M\",\"reason\":\"x\"}", "duration")]
    [InlineData("{\"accountId\":\"111122223333\",\"access\":{\"type\":\"policy\",\"policyArn\":\"arn:aws:iam::aws:policy/ReadOnlyAccess\"}}", "reason")]
    [InlineData("{\"accountId\":\"999988887777\",\"access\":{\"type\":\"policy\",\"policyArn\":\"arn:aws:iam::aws:policy/ReadOnlyAccess\"},\"reason\":\"x\"}", "accountId")]
    public async Task Invalid_fields_are_400_naming_the_field(string body, string field)
    {
        var response = await PostRawAsync(_server.As("oscar@example.com"), body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name {field}: {problem}");
        await AssertNoRequestsOfAsync("oscar@example.com");
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"accountId\":\"111122223333\",\"access\":{\"type\":\"root\"}}")]
    [InlineData("[]")]
    public async Task Malformed_bodies_are_400(string body)
    {
        var response = await PostRawAsync(_server.As("oscar@example.com"), body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertNoRequestsOfAsync("oscar@example.com");
    }

    [Fact]
    public async Task Oversized_bodies_are_413_before_parsing()
    {
        var huge = "{\"reason\":\"" + new string('a', 70_000) + "\"}";
        var response = await PostRawAsync(_server.As("oscar@example.com"), huge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertNoRequestsOfAsync("oscar@example.com");
    }

    [Fact]
    public async Task A_reason_over_1000_characters_is_refused()
    {
        var response = await _server.As("oscar@example.com").PostAsJsonAsync("/api/requests", Api.PolicyRequest(reason: new string('r', 1001)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task What_no_rule_allows_is_403()
    {
        var outsider = await _server.As("eve@evil.example").PostAsJsonAsync("/api/requests", Api.PolicyRequest());
        Assert.Equal(HttpStatusCode.Forbidden, outsider.StatusCode);

        var notAllowed = await _server.As("oscar@example.com").PostAsJsonAsync("/api/requests", Api.PolicyRequest("arn:aws:iam::aws:policy/IAMFullAccess"));
        Assert.Equal(HttpStatusCode.Forbidden, notAllowed.StatusCode);
        Assert.Contains("No rule allows", await notAllowed.Content.ReadAsStringAsync());

        var onBehalf = await _server.As("oscar@example.com").PostAsJsonAsync("/api/requests", new
        {
            accountId = Api.Account,
            access = new { type = "policy", policyArn = Api.ReadOnly },
            reason = "x",
            onBehalfOf = "peggy@example.com",
        });
        Assert.Equal(HttpStatusCode.Forbidden, onBehalf.StatusCode);
        await AssertNoRequestsOfAsync("oscar@example.com");
    }

    [Fact]
    public async Task The_requester_in_the_body_is_ignored()
    {
        var created = await Api.CreateAsync(_server.As("quinn@example.com"), new
        {
            accountId = Api.Account,
            access = new { type = "policy", policyArn = Api.ReadOnly },
            reason = "x",
            requester = "secops@example.com",
        });
        Assert.Equal("quinn@example.com", created.Requester);
    }

    [Fact]
    public async Task Reading_someone_elses_request_is_403_and_the_audit_log_is_for_admins_and_auditors()
    {
        var created = await Api.CreateAsync(_server.As("rita@example.com"), Api.PolicyRequest());
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.As("sam@example.com").GetAsync($"/api/requests/{created.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.As("carol@example.com").GetAsync($"/api/requests/{created.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.As("audit@example.com").GetAsync($"/api/requests/{created.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.As("rita@example.com").GetAsync($"/api/requests/{created.Id}/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.As("audit@example.com").GetAsync($"/api/requests/{created.Id}/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.As("audit@example.com").GetAsync("/api/requests/does-not-exist")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.As("rita@example.com").GetAsync($"/api/sandbox/accounts/{Api.Account}/users/rita@example.com")).StatusCode);
    }

    [Fact]
    public async Task Listing_is_newest_first_paged_and_limited_to_what_the_caller_takes_part_in()
    {
        var tina = _server.As("tina@example.com");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await Api.CreateAsync(tina, Api.PolicyRequest())).Id);
        }

        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await tina.GetFromJsonAsync<JsonElement>($"/api/requests?mine=true&pageSize=2{(token is null ? string.Empty : "&continuationToken=" + Uri.EscapeDataString(token))}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()!));
            token = page.GetProperty("continuationToken").GetString();
        }
        while (token is not null);

        Assert.Equal(Enumerable.Reverse(ids), seen);

        var others = await _server.As("uma@example.com").GetFromJsonAsync<JsonElement>("/api/requests?requester=tina@example.com");
        Assert.Empty(others.GetProperty("items").EnumerateArray());
        var auditor = await _server.As("audit@example.com").GetFromJsonAsync<JsonElement>("/api/requests?requester=tina@example.com&pageSize=10");
        Assert.Equal(5, auditor.GetProperty("items").GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, (await tina.GetAsync("/api/requests?continuationToken=forged")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await tina.GetAsync("/api/requests?status=granted")).StatusCode);
    }

    [Fact]
    public async Task The_same_idempotency_key_returns_the_same_request()
    {
        var victor = _server.As("victor@example.com");
        victor.DefaultRequestHeaders.Add("Idempotency-Key", "retry-1");
        var first = await Api.CreateAsync(victor, Api.PolicyRequest());
        var second = await Api.CreateAsync(victor, Api.PolicyRequest());
        Assert.Equal(first.Id, second.Id);
    }

    [Fact]
    public async Task Health_answers_200()
    {
        var response = await _server.CreateClient().GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static Task<HttpResponseMessage> PostRawAsync(HttpClient client, string body) =>
        client.PostAsync("/api/requests", new StringContent(body, Encoding.UTF8, "application/json"));

    private async Task AssertNoRequestsOfAsync(string email)
    {
        var list = await _server.As("secops@example.com").GetFromJsonAsync<JsonElement>($"/api/requests?requester={email}");
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}

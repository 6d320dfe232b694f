using System.Text.Json.Nodes;
using AccessWorkflows.Teams.Tests.Fakes;

namespace AccessWorkflows.Teams.Tests;

/// <summary>
/// SPEC 10: the request card keeps Teams' Data.Query typeahead and validates against the Adaptive Cards 1.5 schema
/// plus exactly that addition: a well-formed <c>choices.data</c> on <c>Input.ChoiceSet</c>, and nothing else.
/// </summary>
public sealed class CardSchemaExtensionTests : IAsyncLifetime
{
    private TeamsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await TeamsHarness.StartAsync();
        await _h.InstallEverywhereAsync();
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task The_request_card_keeps_its_typeahead_and_validates_against_1_5_plus_exactly_Data_Query_on_ChoiceSet()
    {
        TeamsHarness.Ok(await _h.SendAsync(Activities.Message(_h.Connector.ServiceUrl, "29:alice", "request", "a:personal-29:alice")));
        var form = FakeBotConnector.Card(Assert.Single(_h.Connector.MessagesIn("a:personal-29:alice")).Latest)!;

        CardSchema.AssertValid(form);
        var typeaheads = form["body"]!.AsArray().Where(e => e!["choices.data"] is not null).ToList();
        Assert.Equal(["policyArn", "groupName"], typeaheads.Select(e => e!["id"]!.GetValue<string>()));
        Assert.All(typeaheads, e =>
        {
            Assert.Equal("Input.ChoiceSet", e!["type"]!.GetValue<string>());
            Assert.Equal("Data.Query", e["choices.data"]!["type"]!.GetValue<string>());
        });

        // Anything beyond the documented addition is refused, as any other member outside the 1.5 schema is.
        Assert.NotEmpty(CardSchema.Errors(Changed(form, "policyArn", d => d.Remove("dataset"))));
        Assert.NotEmpty(CardSchema.Errors(Changed(form, "policyArn", d => d["type"] = "Data.Other")));
        Assert.NotEmpty(CardSchema.Errors(Changed(form, "policyArn", d => d["url"] = "https://evil.example")));
        Assert.NotEmpty(CardSchema.Errors(Changed(form, "policyArn", d => d["associatedInputs"] = "sometimes")));
        var onText = form.DeepClone().AsObject();
        onText["body"]!.AsArray().Single(e => e!["id"]?.GetValue<string>() == "resourceArn")!["choices.data"] = new JsonObject { ["type"] = "Data.Query", ["dataset"] = "resources" };
        Assert.NotEmpty(CardSchema.Errors(onText));
    }

    /// <summary>The card with the <c>choices.data</c> of input <paramref name="id"/> changed.</summary>
    private static JsonObject Changed(JsonObject card, string id, Action<JsonObject> change)
    {
        var copy = card.DeepClone().AsObject();
        change(copy["body"]!.AsArray().Single(e => e!["id"]?.GetValue<string>() == id)!["choices.data"]!.AsObject());
        return copy;
    }
}

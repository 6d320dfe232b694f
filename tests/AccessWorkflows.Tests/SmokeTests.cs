using AccessWorkflows.Requests;

namespace AccessWorkflows.Tests;

public class AccessDurationTests
{
    [Theory]
    [InlineData("PT1H", 3600)]
    [InlineData("P1D", 86400)]
    [InlineData("PT30S", 30)]
    [InlineData("30m", 1800)]
    [InlineData("8h", 28800)]
    [InlineData("1d", 86400)]
    public void Parses_iso_and_short_forms(string text, int seconds)
    {
        Assert.True(AccessDuration.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromSeconds(seconds), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("PT0S")]
    [InlineData("-1h")]
    [InlineData("1 hour")]
    [InlineData("PT1H; DROP")]
    [InlineData("P")]
    public void Refuses_what_is_not_a_positive_duration(string text) => Assert.False(AccessDuration.TryParse(text, out _));
}

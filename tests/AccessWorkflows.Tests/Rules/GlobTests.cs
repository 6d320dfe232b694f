using AccessWorkflows.Rules;

namespace AccessWorkflows.Tests.Rules;

public class GlobTests
{
    [Theory]
    [InlineData("arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess", true)]
    [InlineData("arn:aws:iam::aws:policy/*ReadOnly*", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", true)]
    [InlineData("arn:aws:iam::aws:policy/*ReadOnly*", "arn:aws:iam::aws:policy/ReadOnlyAccess", true)]
    [InlineData("arn:aws:iam::aws:policy/*ReadOnly*", "arn:aws:iam::aws:policy/AdministratorAccess", false)]
    [InlineData("arn:aws:s3:::team-*", "arn:aws:s3:::team-", true)]
    [InlineData("arn:aws:s3:::team-*", "arn:aws:s3:::team", false)]
    [InlineData("arn:aws:s3:::team-*", "arn:aws:s3:::other-team-a", false)]
    [InlineData("Dev?", "Devs", true)]
    [InlineData("Dev?", "Dev", false)]
    [InlineData("Dev?", "Devops", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "anything at all", true)]
    [InlineData("", "", true)]
    [InlineData("", "x", false)]
    [InlineData("?", "", false)]
    [InlineData("**", "x", true)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("a*b*c", "aXbYcZ", false)]
    [InlineData("*c", "abcabc", true)]
    [InlineData("*.", "a.b.", true)]
    public void Matches_stars_and_question_marks(string pattern, string text, bool expected) =>
        Assert.Equal(expected, Glob.IsMatch(pattern, text));

    [Fact]
    public void Arns_are_case_sensitive_unless_asked()
    {
        Assert.False(Glob.IsMatch("arn:aws:iam::aws:policy/ReadOnly*", "arn:aws:iam::aws:policy/readonlyAccess"));
        Assert.True(Glob.IsMatch("*@example.com", "Alice@EXAMPLE.com", ignoreCase: true));
        Assert.False(Glob.IsMatch("*@example.com", "Alice@EXAMPLE.com"));
    }

    [Fact]
    public void Regex_metacharacters_are_literal()
    {
        Assert.False(Glob.IsMatch("a.c", "abc"));
        Assert.True(Glob.IsMatch("a.c", "a.c"));
        Assert.False(Glob.IsMatch("a+", "aa"));
        Assert.True(Glob.IsMatch("(x)|[y]", "(x)|[y]"));
    }

    [Fact]
    public void Pathological_patterns_finish()
    {
        // Exponential for a backtracking matcher: many stars, a long run of the same character, a final miss.
        var pattern = string.Concat(Enumerable.Repeat("a*", 200)) + "b";
        var text = new string('a', 20_000);
        Assert.False(Glob.IsMatch(pattern, text));
        Assert.True(Glob.IsMatch(pattern, text + "b"));

        var nested = "arn:" + string.Concat(Enumerable.Repeat("*?", 500)) + "!";
        Assert.False(Glob.IsMatch(nested, "arn:" + new string('x', 2000)));
    }
}

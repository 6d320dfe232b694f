namespace AccessWorkflows.Rules;

/// <summary>Reads and validates the rules file (SPEC 5). Every error names the line and the field.</summary>
public static class RulesLoader
{
    public static AccessRules Load(string path) => Parse(File.ReadAllText(path), Path.GetFileName(path));

    /// <summary>Parses YAML text; throws <see cref="RulesFileException"/> on the first error.</summary>
    public static AccessRules Parse(string yaml, string sourceName = "access-rules.yaml")
        => throw new NotImplementedException("rules loader: being written");
}

/// <summary>A rules file error, with where it is.</summary>
public sealed class RulesFileException : Exception
{
    public RulesFileException(string source, int line, string field, string problem)
        : base($"{source}:{line}: {field}: {problem}")
    {
        Source = source;
        Line = line;
        Field = field;
        Problem = problem;
    }

    public new string Source { get; }

    public int Line { get; }

    public string Field { get; }

    public string Problem { get; }
}

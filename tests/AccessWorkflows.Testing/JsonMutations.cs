using System.Text.Json.Nodes;

namespace AccessWorkflows.Testing;

/// <summary>Inputs of a hostile shape for a channel's parsers: a well-formed document with one member (at any depth,
/// array items included) replaced in turn by each of a set of other JSON values.</summary>
public static class JsonMutations
{
    /// <summary>Every copy of <paramref name="document"/> with one member replaced by one of <paramref name="replacements"/>.</summary>
    public static IEnumerable<JsonObject> EachMemberReplaced(JsonObject document, IReadOnlyList<Func<JsonNode?>> replacements)
    {
        var paths = new List<List<object>>();
        Collect(document, [], paths);
        foreach (var path in paths)
        {
            foreach (var replacement in replacements)
            {
                var copy = document.DeepClone().AsObject();
                JsonNode parent = copy;
                foreach (var step in path.SkipLast(1))
                {
                    parent = step is string key ? parent[key]! : parent[(int)step]!;
                }

                switch (path[^1])
                {
                    case string key:
                        parent[key] = replacement();
                        break;
                    case int index:
                        parent[index] = replacement();
                        break;
                }

                yield return copy;
            }
        }
    }

    private static void Collect(JsonNode? node, List<object> path, List<List<object>> paths)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o)
                {
                    var p = new List<object>(path) { key };
                    paths.Add(p);
                    Collect(child, p, paths);
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var p = new List<object>(path) { i };
                    paths.Add(p);
                    Collect(a[i], p, paths);
                }

                break;
        }
    }
}

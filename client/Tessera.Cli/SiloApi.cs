using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Tessera.Silo.Api;

namespace Tessera.Cli;

/// <summary>A client of a silo's HTTP API (the JSON the dashboard reads), for the commands that follow or load it.</summary>
public sealed class SiloApi(HttpClient http) : IDisposable
{
    /// <summary>The API of a silo on this machine (it listens on loopback only), presenting <paramref name="token"/> if given.</summary>
    public static SiloApi OnPort(int port, string? token = null) => At(new Uri($"http://127.0.0.1:{port}/"), token);

    public static SiloApi At(Uri baseAddress, string? token = null)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new SiloApi(http);
    }

    public Uri BaseAddress => http.BaseAddress!;

    /// <summary>GETs <paramref name="path"/> as <typeparamref name="T"/>; an error answer throws <see cref="SiloApiException"/> with the API's message.</summary>
    public async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(path, cancellationToken);
        if (response.IsSuccessStatusCode)
            return await response.Content.ReadFromJsonAsync<T>(ApiJson.Options, cancellationToken)
                ?? throw new SiloApiException(response.StatusCode, $"GET {path} answered null");
        string body = await response.Content.ReadAsStringAsync(cancellationToken);
        string message;
        try { message = JsonSerializer.Deserialize<ApiError>(body, ApiJson.Options)?.Error ?? body; }
        catch (JsonException) { message = body; }
        throw new SiloApiException(response.StatusCode, message);
    }

    public void Dispose() => http.Dispose();
}

/// <summary>An error answer of the API: its status code and its <c>error</c> text.</summary>
public sealed class SiloApiException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}

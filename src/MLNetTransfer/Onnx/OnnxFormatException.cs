namespace MLNetTransfer.Onnx;

/// <summary>An ONNX file is unreadable, hostile or unsupported; the message names the file and the reason.</summary>
public sealed class OnnxFormatException(string message, Exception? inner = null) : IOException(message, inner);

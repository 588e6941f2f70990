namespace MLNetTransfer.Data;

/// <summary>A dataset as folder-per-class image trees (<c>CLASS/*.png|jpg</c>), ready for <see cref="ImageFolder.Scan"/>.</summary>
/// <param name="TrainDir">The training split.</param>
/// <param name="TestDir">The test split.</param>
/// <param name="Source">Where they came from, for the user (an assets folder, or the cache built from a download).</param>
public sealed record DatasetFolders(string TrainDir, string TestDir, string Source);

/// <summary>A dataset's labelled images.</summary>
/// <param name="Train">The training split (a seeded stratified sample when a per-class limit was given).</param>
/// <param name="Test">The test split.</param>
/// <param name="Folders">The folders they were listed from.</param>
public sealed record DatasetSplits(IReadOnlyList<LabeledImage> Train, IReadOnlyList<LabeledImage> Test, DatasetFolders Folders);

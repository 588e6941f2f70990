using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using MLNetTransfer.Onnx;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Tests.Onnx;

/// <summary>
/// In-memory graphs given to ML.NET's ApplyOnnxModel must not leave files behind: ML.NET's stream overload leaked one
/// model-sized file per fit into the temp folder, which filled a CI disk.
/// </summary>
public class OnnxGraphFilesTests
{
    [Fact]
    public void Fitting_writes_one_graph_file_in_the_process_folder_that_saving_reads_and_dispose_deletes()
    {
        using var temp = new TempDir();
        var ml = new MLContext(1) { TempFilePath = temp.Path };
        var graph = Doubler();
        var model = OnnxGraphFiles.ApplyOnnxModel(ml, ["y"], ["x"], graph, null).Fit(Rows(ml));

        Assert.Equal([2f, -4f, 6f, 0.5f], model.Transform(Rows(ml)).GetColumn<float[]>("y").Single());
        // Nothing in the temp folder itself (where ML.NET's stream overload put its copy), one graph in ours.
        Assert.Empty(Directory.GetFiles(temp.Path));
        var file = Assert.Single(Directory.GetFiles(OnnxGraphFiles.ProcessFolderUnder(temp.Path), "*.onnx"));
        Assert.Equal(graph, File.ReadAllBytes(file));

        // ML.NET reads the file again, by name, to save; the loaded model scores the same.
        var zip = Path.Combine(temp.Path, "model.zip");
        ml.Model.Save(model, Rows(ml).Schema, zip);
        using (var loaded = (IDisposable)ml.Model.Load(zip, out _))
            Assert.Equal([2f, -4f, 6f, 0.5f], ((ITransformer)loaded).Transform(Rows(ml)).GetColumn<float[]>("y").Single());

        OnnxGraphFiles.Dispose(model);
        Assert.False(File.Exists(file), "the graph file outlived its disposed transformer");
    }

    [Fact]
    public void The_graph_file_of_a_transformer_nobody_references_goes_with_it()
    {
        using var temp = new TempDir();
        var file = FitAndForget(temp.Path);
        Assert.True(File.Exists(file));
        // Right after scoring, a worker thread of ML.NET's still holds the transformer for a moment (about a second here);
        // once it lets go, a collection finds the transformer dead and the file's finalizer deletes it.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (File.Exists(file) && DateTime.UtcNow < deadline)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Thread.Sleep(100);
        }
        Assert.False(File.Exists(file), "the graph file of a collected transformer was not deleted");
    }

    [Fact]
    public void Folders_whose_lock_no_process_holds_are_removed_and_locked_ones_kept()
    {
        using var temp = new TempDir();
        string Folder(string name, bool withLock)
        {
            var dir = Path.Combine(temp.Path, name);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "graph.onnx"), [1, 2, 3]);
            if (withLock) File.WriteAllBytes(Path.Combine(dir, ".lock"), []);
            return dir;
        }
        // Process ids above Linux's largest pid_max (2^22), so no process here has them.
        var dead = Folder("4194401-deadbeef", withLock: true);
        var live = Folder("4194402-0a1b2c3d", withLock: true);
        var starting = Folder("4194403-5e6f7a8b", withLock: false); // created a moment ago, not locked yet
        var running = Folder($"{Environment.ProcessId}-1a2b3c4d", withLock: true); // lock free, but its process runs
        using var held = new FileStream(Path.Combine(live, ".lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None);

        OnnxGraphFiles.RemoveFoldersOfDeadProcesses(temp.Path);

        Assert.False(Directory.Exists(dead), "a folder whose lock nobody holds was kept");
        Assert.True(File.Exists(Path.Combine(live, "graph.onnx")), "a live process's folder was removed");
        Assert.True(Directory.Exists(starting), "a folder too new to have its lock yet was removed");
        Assert.True(Directory.Exists(running), "the folder of a running process id was removed");
    }

    [NeedsAssets]
    [Fact]
    public void FeaturizeImage_writes_to_the_callers_temp_path_and_leaves_nothing_after_dispose()
    {
        using var temp = new TempDir();
        var ml = new MLContext(1) { TempFilePath = temp.Path };
        var images = TestAssets.CifarSubset(TestAssets.Cifar10Test, 1).Take(2).ToList();
        var view = ml.Data.LoadFromEnumerable(images.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));

        var model = ml.Transforms.FeaturizeImage().Fit(view);
        Assert.Equal(2, model.Transform(view).GetColumn<float[]>("Features").Count());
        var folder = OnnxGraphFiles.ProcessFolderUnder(temp.Path);
        Assert.Single(Directory.GetFiles(folder, "*.onnx"));

        model.Dispose();
        Assert.Empty(Directory.GetFiles(folder, "*.onnx"));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string FitAndForget(string tempPath)
    {
        var ml = new MLContext(1) { TempFilePath = tempPath };
        var model = OnnxGraphFiles.ApplyOnnxModel(ml, ["y"], ["x"], Doubler(), null).Fit(Rows(ml));
        model.Transform(Rows(ml)).GetColumn<float[]>("y").Single();
        return Directory.GetFiles(OnnxGraphFiles.ProcessFolderUnder(tempPath), "*.onnx").Single();
    }

    private static IDataView Rows(MLContext ml) => ml.Data.LoadFromEnumerable([new Row { X = [1f, -2f, 3f, 0.25f] }]);

    // y = 2x on a float[1,4].
    private static byte[] Doubler()
    {
        var b = new OnnxGraphBuilder("doubler");
        b.AddInput("x", OnnxDataType.Float, [1, 4]);
        b.AddInitializer("two", [1], [2f]);
        b.AddNode("Mul", ["x", "two"], ["y"]);
        b.AddOutput("y", OnnxDataType.Float, [1, 4]);
        return b.Build().ToByteArray();
    }

    private sealed class Row
    {
        [ColumnName("x"), VectorType(4)]
        public float[] X { get; set; } = [];
    }
}

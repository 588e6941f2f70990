// MSBuild inline task (RoslynCodeTaskFactory, Code Type="Class") used by TorchSharpLinuxCompat.targets; the same file
// (without the task, MLNETTRANSFER_RUNTIME defined) is compiled into the MLNetTransfer library, which applies the patch at
// run time where there is no build (a .NET Interactive kernel loading the package straight from the NuGet cache).
//
// Writes a copy of TorchSharp's native glue library (libLibTorchSharp.so) in which the version
// requirements on libstdc++.so.6 that the given system libstdc++ does not define (GLIBCXX_3.4.32 for
// TorchSharp 0.107, built with GCC 13) are marked VER_FLG_WEAK, after checking that no dynamic relocation
// of the library binds a symbol of such a version. See TorchSharpLinuxCompat.targets for why that is
// enough (no shim library, no patchelf) and docs/torchsharp-linux.md for the background.
//
// The source (a file in the NuGet cache) is only read. The destination is written as a new file next to
// it (a copy of the source, then the few patched bytes) and renamed over it, so a destination that is a
// hard link to the NuGet cache is replaced, never modified. Everything is plain ELF64 little-endian parsing; no external tool is run.

#nullable disable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
#if !MLNETTRANSFER_RUNTIME
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class TorchSharpLinuxCompatPatch : Task
{
    /// <summary>libLibTorchSharp.so as restored (NuGet cache). Read only.</summary>
    [Required] public string SourceFile { get; set; } = "";

    /// <summary>Where to write the patched copy (under obj/).</summary>
    [Required] public string DestinationFile { get; set; } = "";

    /// <summary>
    /// The libstdc++.so.6 the library will load at run time. Versions required by the library that it does not
    /// define are made weak. Empty: every libstdc++ version requirement that no relocation uses is made weak
    /// (TorchSharpLinuxCompat=Always, e.g. building on a newer distribution for an older one).
    /// </summary>
    public string SystemLibStdCxx { get; set; } = "";

    /// <summary>Names of the version requirements that were made weak (for logging / diagnostics).</summary>
    [Output] public string[] WeakenedVersions { get; set; } = Array.Empty<string>();

    public override bool Execute()
    {
        try
        {
            return Run();
        }
        catch (Exception ex)   // malformed ELF, I/O: report as a build error rather than an MSBuild crash
        {
            Log.LogError("TorchSharpLinuxCompat: cannot patch '{0}': {1}", SourceFile, ex.Message);
            return false;
        }
    }

    bool Run()
    {
        var plan = LibStdCxxWeakening.Plan(SourceFile, string.IsNullOrEmpty(SystemLibStdCxx) ? null : SystemLibStdCxx);
        if (plan.Problems.Count > 0)
        {
            Log.LogError(
                "TorchSharpLinuxCompat: '{0}' needs libstdc++ versions that '{1}' lacks and actually calls into them: {2}. " +
                "Marking them weak would only move the failure to run time. Install a libstdc++ from GCC 13 or newer " +
                "(e.g. a newer distribution), or use a TorchSharp build compiled against an older libstdc++. " +
                "Set TorchSharpLinuxCompat=Never to skip this step.",
                SourceFile, SystemLibStdCxx, string.Join("; ", plan.Problems));
            return false;
        }

        LibStdCxxWeakening.WriteReplacing(SourceFile, DestinationFile, plan.Patches);
        WeakenedVersions = plan.Weakened.ToArray();
        if (plan.Weakened.Count > 0)
            Log.LogMessage(MessageImportance.High,
                "TorchSharpLinuxCompat: {0} -> {1}: marked libstdc++ version requirement(s) {2} weak ({3}no relocation binds a symbol of them).",
                Path.GetFileName(SourceFile), DestinationFile, string.Join(", ", plan.Weakened),
                string.IsNullOrEmpty(SystemLibStdCxx) ? "" : "not defined by " + SystemLibStdCxx + "; ");
        else
            Log.LogMessage(MessageImportance.Normal, "TorchSharpLinuxCompat: {0} needs no change; copied to {1}.", SourceFile, DestinationFile);
        return true;
    }
}
#endif

/// <summary>ELF edits shared by the build task and the library's run-time loader.</summary>
internal static class LibStdCxxWeakening
{
    const uint SHT_RELA = 4, SHT_DYNSYM = 11, SHT_REL = 9;
    const uint SHT_GNU_verdef = 0x6ffffffd, SHT_GNU_verneed = 0x6ffffffe, SHT_GNU_versym = 0x6fffffff;
    const ushort VER_FLG_WEAK = 0x2;

    /// <summary>The patches (file offset, new bytes) and the names of the weakened versions; problems: really used, really missing.</summary>
    public sealed class Result
    {
        public List<KeyValuePair<int, byte[]>> Patches = new List<KeyValuePair<int, byte[]>>();
        public List<string> Weakened = new List<string>();
        public List<string> Problems = new List<string>();
    }

    /// <summary>
    /// Which libstdc++ version requirements of <paramref name="sourceFile"/> to mark weak: those <paramref name="systemLibStdCxx"/>
    /// does not define (null: every one no relocation uses). A missing version that a relocation binds is a problem instead.
    /// </summary>
    public static Result Plan(string sourceFile, string systemLibStdCxx)
    {
        var elf = new Elf(File.ReadAllBytes(sourceFile), sourceFile);

        HashSet<string> provided = null;
        if (systemLibStdCxx != null)
            provided = new HashSet<string>(new Elf(File.ReadAllBytes(systemLibStdCxx), systemLibStdCxx).DefinedVersions(), StringComparer.Ordinal);

        // Version index -> symbols that dynamic relocations actually bind (those must really exist at run time).
        var boundByIndex = elf.RelocatedSymbolsByVersionIndex();
        var result = new Result();
        foreach (var req in elf.VersionRequirements().Where(r => r.File == "libstdc++.so.6"))
        {
            if (provided != null && provided.Contains(req.Name)) continue;   // satisfied by the system library
            if (boundByIndex.TryGetValue(req.Index, out var symbols))
            {
                if (provided != null)   // Auto: really missing and really used -> cannot be fixed by patching
                    result.Problems.Add(req.Name + " (used by " + string.Join(", ", symbols.Take(5)) + (symbols.Count > 5 ? ", ..." : "") + ")");
                continue;               // Always: leave used requirements strict
            }
            if ((req.Flags & VER_FLG_WEAK) == 0)
            {
                result.Patches.Add(new KeyValuePair<int, byte[]>(req.FlagsOffset, BitConverter.GetBytes((ushort)(req.Flags | VER_FLG_WEAK))));
                result.Weakened.Add(req.Name);
            }
        }
        return result;
    }

    /// <summary>The version names an ELF shared library defines (e.g. GLIBCXX_3.4.30 for a libstdc++.so.6).</summary>
    public static IEnumerable<string> DefinedVersions(string file) => new Elf(File.ReadAllBytes(file), file).DefinedVersions().ToList();

    /// <summary>
    /// Copy <paramref name="source"/> to a new file next to <paramref name="path"/> (keeps the file mode), apply the
    /// patches to that new file, then rename it over <paramref name="path"/>: an existing destination (possibly a hard
    /// link into the NuGet cache) is replaced, never written through. The result gets the current time as its write
    /// time so MSBuild's incremental checks see it as newer than its inputs.
    /// </summary>
    public static void WriteReplacing(string source, string path, IEnumerable<KeyValuePair<int, byte[]>> patches)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path)));
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            File.Copy(source, temp);
            using (var fs = new FileStream(temp, FileMode.Open, FileAccess.Write, FileShare.None))
            {
                foreach (var p in patches)
                {
                    fs.Position = p.Key;
                    fs.Write(p.Value, 0, p.Value.Length);
                }
            }
            File.SetLastWriteTimeUtc(temp, DateTime.UtcNow);
            if (File.Exists(path)) File.Replace(temp, path, null);   // rename(2) on Unix
            else File.Move(temp, path);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    struct Requirement
    {
        public string File, Name;
        public ushort Flags, Index;
        public int FlagsOffset;
    }

    /// <summary>Just enough of ELF64 little-endian: sections, dynsym, relocations, GNU symbol versioning.</summary>
    sealed class Elf
    {
        readonly byte[] b;
        readonly List<(uint Type, ulong Offset, ulong Size, uint Link, ulong EntSize)> sections = new();

        public Elf(byte[] image, string name)
        {
            b = image;
            if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
                throw new InvalidDataException(name + " is not an ELF file");
            if (b[4] != 2 || b[5] != 1)
                throw new InvalidDataException(name + " is not a 64-bit little-endian ELF file");
            ulong shoff = U64(0x28);
            int shentsize = U16(0x3a), shnum = U16(0x3c);
            if (shoff == 0 || shnum == 0)
                throw new InvalidDataException(name + " has no section headers");
            for (int i = 0; i < shnum; i++)
            {
                int h = checked((int)shoff + i * shentsize);
                sections.Add((U32(h + 4), U64(h + 0x18), U64(h + 0x20), U32(h + 0x28), U64(h + 0x38)));
            }
        }

        ushort U16(long o) => BitConverter.ToUInt16(b, checked((int)o));
        uint U32(long o) => BitConverter.ToUInt32(b, checked((int)o));
        ulong U64(long o) => BitConverter.ToUInt64(b, checked((int)o));

        string Str(int strtabSection, uint offset)
        {
            int start = checked((int)(sections[strtabSection].Offset + offset));
            int end = Array.IndexOf(b, (byte)0, start);
            return Encoding.ASCII.GetString(b, start, end - start);
        }

        int Find(uint type) => sections.FindIndex(s => s.Type == type);

        public IEnumerable<string> DefinedVersions()
        {
            int vd = Find(SHT_GNU_verdef);
            if (vd < 0) yield break;
            int strtab = (int)sections[vd].Link;
            long off = (long)sections[vd].Offset;
            while (true)
            {
                ushort cnt = U16(off + 6);
                uint aux = U32(off + 12), next = U32(off + 16);
                if (cnt > 0) yield return Str(strtab, U32(off + aux));   // first Verdaux = the version's own name
                if (next == 0) break;
                off += next;
            }
        }

        public List<Requirement> VersionRequirements()
        {
            var result = new List<Requirement>();
            int vn = Find(SHT_GNU_verneed);
            if (vn < 0) return result;
            int strtab = (int)sections[vn].Link;
            long off = (long)sections[vn].Offset;
            while (true)
            {
                ushort cnt = U16(off + 2);
                string file = Str(strtab, U32(off + 4));
                uint aux = U32(off + 8), next = U32(off + 12);
                long a = off + aux;
                for (int i = 0; i < cnt; i++)
                {
                    result.Add(new Requirement
                    {
                        File = file,
                        Flags = U16(a + 4),
                        FlagsOffset = checked((int)(a + 4)),
                        Index = (ushort)(U16(a + 6) & 0x7fff),
                        Name = Str(strtab, U32(a + 8)),
                    });
                    uint anext = U32(a + 12);
                    if (anext == 0) break;
                    a += anext;
                }
                if (next == 0) break;
                off += next;
            }
            return result;
        }

        /// <summary>For every version index: the names of dynamic symbols with that version that some relocation binds.</summary>
        public Dictionary<ushort, List<string>> RelocatedSymbolsByVersionIndex()
        {
            var result = new Dictionary<ushort, List<string>>();
            int dynsym = Find(SHT_DYNSYM), versym = Find(SHT_GNU_versym);
            if (dynsym < 0 || versym < 0) return result;
            var used = new HashSet<uint>();
            for (int s = 0; s < sections.Count; s++)
            {
                var sec = sections[s];
                if ((sec.Type != SHT_RELA && sec.Type != SHT_REL) || sec.Link != dynsym) continue;
                ulong ent = sec.EntSize != 0 ? sec.EntSize : (sec.Type == SHT_RELA ? 24UL : 16UL);
                for (ulong o = 0; o + ent <= sec.Size; o += ent)
                    used.Add((uint)(U64((long)(sec.Offset + o + 8)) >> 32));   // r_info: symbol index in the high 32 bits
            }
            int strtab = (int)sections[dynsym].Link;
            foreach (uint sym in used)
            {
                if (sym == 0) continue;
                ushort index = (ushort)(U16((long)sections[versym].Offset + 2 * sym) & 0x7fff);
                long entry = (long)(sections[dynsym].Offset + sym * 24UL);
                if (!result.TryGetValue(index, out var names)) result[index] = names = new List<string>();
                names.Add(Str(strtab, U32(entry)));
            }
            return result;
        }
    }
}

// Assembly-level attributes for the MLNetTransfer library.
[assembly: System.CLSCompliant(false)]

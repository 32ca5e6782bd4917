console.log("[models] fetch not yet implemented")

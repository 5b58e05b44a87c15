import { describeMatrix, httpScenarios } from "../../../test/http/index.js";
import { honoCase } from "./apps.js";

describeMatrix([honoCase], httpScenarios);
